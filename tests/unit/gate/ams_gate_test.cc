#include "gate/ams_gate.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/fake_lease_store.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;
using Action = GateDecision::Action;

constexpr char kCluster[] = "prod";

GateIdentity Pod(int i) {
  return {"ams-" + std::to_string(i), "uid-" + std::to_string(i), "10.0.0." + std::to_string(i)};
}

// The controller's view: the lease naming pod `i` as HolderFor would.
LeaseHolder LeaseFor(int i) {
  GateIdentity p = Pod(i);
  return {p.pod_ip + ":1261:" + p.pod_uid, p.pod_ip, "{}"};
}

class AmsGateTest : public ::testing::Test {
 protected:
  AmsGateTest() : store_(&clock_) {
    cluster_.name = kCluster;
    cluster_.pod_selector = "app=amoro";
    gate_config_.stop_grace_period = seconds(5);
    gate_config_.poll_interval = seconds(2);
    gate_config_.safety_margin = seconds(1);
    gate_ = MakeGate(0);
  }

  std::unique_ptr<AmsGate> MakeGate(int pod) {
    return std::make_unique<AmsGate>(Pod(pod), cluster_, gate_config_, &store_, &clock_);
  }
  void LeaseTo(int pod, milliseconds ttl = seconds(30)) {
    store_.Put({kCluster, kAmsServiceName}, LeaseFor(pod), ttl);
  }
  std::optional<LeaseRecord> GateRow() const { return store_.Row({kCluster, kGateServiceName}); }
  // Starts AMS on gate_ (pod 0) and returns the decision.
  GateDecision BecomeLeader() {
    LeaseTo(0);
    GateDecision d = gate_->Step(false);
    EXPECT_EQ(d.action, Action::kStartAms) << d.summary;
    return d;
  }

  FakeClock clock_;
  FakeLeaseStore store_;
  ClusterConfig cluster_;
  GateConfig gate_config_;
  std::unique_ptr<AmsGate> gate_;
};

TEST_F(AmsGateTest, AFollowerWaitsAndWritesNothingWhileTheLeaseNamesAnotherPod) {
  LeaseTo(1);
  GateDecision d = gate_->Step(false);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_TRUE(d.database_ok);
  EXPECT_EQ(d.summary, "follower: lease held by 10.0.0.1:1261:uid-1 (node_ip 10.0.0.1), waiting");
  EXPECT_EQ(d.next_step, gate_config_.poll_interval);
  EXPECT_EQ(store_.Calls(), std::vector<std::string>{"Read AMS/prod"});
}

TEST_F(AmsGateTest, AFollowerSaysSoWhenNoPodHoldsTheLease) {
  GateDecision d = gate_->Step(false);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.summary, "follower: no pod holds the lease; waiting for the controller to elect one");
  LeaseTo(0, seconds(1));
  clock_.Advance(seconds(2));
  EXPECT_EQ(gate_->Step(false).action, Action::kNone) << "an expired lease names nobody";
}

TEST_F(AmsGateTest, StartsAmsWhenTheLeaseNamesThisPodAndTakesTheGateRowFirst) {
  LeaseTo(0, seconds(30));
  GateDecision d = gate_->Step(false);
  ASSERT_EQ(d.action, Action::kStartAms) << d.summary;
  EXPECT_EQ(d.summary,
            "leader: starting AMS (the lease names this pod and expires in 30.0s; this gate holds "
            "the gate row)");
  auto row = GateRow();
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->node_id, "10.0.0.0:1261:uid-0");
  // AMS is not started yet when the row is taken (GateLoop reports it next).
  EXPECT_EQ(row->server_info_json,
            R"({"pod":"ams-0","podUid":"uid-0","ams":"stopped","amsStartedAtMs":0,)"
            R"("servingSinceMs":0})");
  // gate.rowTtl, whatever the lease's expires-in or the stop grace
  EXPECT_EQ(*row->lease_expire_ts_ms, store_.DbNowMs() + 8000);
  EXPECT_TRUE(gate_->HoldsRow());
}

TEST_F(AmsGateTest, NeverWritesTheAmsLeaseItself) {
  BecomeLeader();
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(seconds(1));
    gate_->Step(true);
  }
  LeaseTo(1);
  gate_->Step(true);
  gate_->ReleaseRow();
  for (const std::string& call : store_.Calls()) {
    EXPECT_TRUE(call.rfind("Read ", 0) == 0 || call.find("AMS_GATE/") != std::string::npos) << call;
  }
}

TEST_F(AmsGateTest, ANewLeaderWaitsForThePreviousGateToGiveUpItsRow) {
  auto previous = MakeGate(1);
  LeaseTo(1);
  ASSERT_EQ(previous->Step(false).action, Action::kStartAms);
  LeaseTo(0);  // the controller hands over to pod 0
  clock_.Advance(seconds(1));
  GateDecision d = gate_->Step(false);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.summary, "leader: waiting for ams-1's AMS to stop (gate row expires in 7.0s)");
  EXPECT_EQ(d.next_step, gate_config_.poll_interval);
  // The old gate sees the move, stops its AMS, then releases the row.
  GateDecision old = previous->Step(true);
  EXPECT_EQ(old.action, Action::kStopAms);
  EXPECT_EQ(old.summary, "lease moved to 10.0.0.0:1261:uid-0: stopping AMS");
  ASSERT_TRUE(previous->ReleaseRow().ok());
  EXPECT_FALSE(previous->HoldsRow());
  EXPECT_EQ(gate_->Step(false).action, Action::kStartAms);
}

TEST_F(AmsGateTest, ANewLeaderStartsOnceAVanishedGatesRowExpires) {
  auto vanished = MakeGate(1);
  LeaseTo(1);
  ASSERT_EQ(vanished->Step(false).action, Action::kStartAms);  // then never steps again
  LeaseTo(0, seconds(60));
  GateDecision d = gate_->Step(false);
  ASSERT_EQ(d.action, Action::kNone);
  clock_.Advance(seconds(7) + milliseconds(999));
  EXPECT_EQ(gate_->Step(false).action, Action::kNone) << "the row is still valid";
  clock_.Advance(milliseconds(1));
  GateDecision started = gate_->Step(false);
  EXPECT_EQ(started.action, Action::kStartAms) << started.summary;
}

TEST_F(AmsGateTest, WhileWaitingItStepsAgainWhenTheRowExpiresIfThatIsSooner) {
  auto previous = MakeGate(1);
  LeaseTo(1);
  ASSERT_EQ(previous->Step(false).action, Action::kStartAms);
  clock_.Advance(seconds(7));
  LeaseTo(0);
  GateDecision d = gate_->Step(false);
  EXPECT_EQ(d.next_step, milliseconds(1010));
}

TEST_F(AmsGateTest, TakesOverTheRowLeftByAnEarlierGateProcessOfTheSamePod) {
  BecomeLeader();
  auto restarted = MakeGate(0);  // the container restarted: AMS died with the old gate
  GateDecision d = restarted->Step(false);
  EXPECT_EQ(d.action, Action::kStartAms);
  EXPECT_EQ(d.summary,
            "leader: starting AMS (took over the gate row of this pod's previous gate process)");
  EXPECT_EQ(store_.CountCalls("HandOver"), 1);
}

TEST_F(AmsGateTest, StopsAmsWhenTheLeaseMovesToAnotherPod) {
  BecomeLeader();
  LeaseTo(2);
  GateDecision d = gate_->Step(true);
  EXPECT_EQ(d.action, Action::kStopAms);
  EXPECT_EQ(d.summary, "lease moved to 10.0.0.2:1261:uid-2: stopping AMS");
}

TEST_F(AmsGateTest, StopsAmsWhenTheLeaseExpiresOrIsReleased) {
  BecomeLeader();
  clock_.Advance(seconds(31));
  EXPECT_EQ(gate_->Step(true).summary, "the lease has expired: stopping AMS");
}

TEST_F(AmsGateTest, RenewsTheGateRowWithEveryConfirmationAndStaysRunning) {
  BecomeLeader();
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(seconds(2));
    LeaseTo(0);  // the controller renews
    GateDecision d = gate_->Step(true);
    EXPECT_EQ(d.action, Action::kNone);
    EXPECT_EQ(d.summary, "leader: AMS running");
  }
  EXPECT_EQ(store_.CountCalls("RenewWithInfo"), 3);
  EXPECT_EQ(*GateRow()->lease_expire_ts_ms, store_.DbNowMs() + 8000);
}

TEST_F(AmsGateTest, TheGateRowReportsTheAmsStateAndItsTimesOnTheDatabaseClock) {
  BecomeLeader();
  const MonoTime started = clock_.Now();
  const int64_t started_db = store_.DbNowMs();
  gate_->ReportAms({AmsReport::State::kStarting, started, std::nullopt});
  clock_.Advance(seconds(1));
  LeaseTo(0);
  ASSERT_EQ(gate_->Step(true).action, Action::kNone);
  EXPECT_EQ(GateRow()->server_info_json,
            R"({"pod":"ams-0","podUid":"uid-0","ams":"starting","amsStartedAtMs":)" +
                std::to_string(started_db) + R"(,"servingSinceMs":0})");
  clock_.Advance(seconds(7));
  gate_->ReportAms({AmsReport::State::kServing, started, clock_.Now()});
  const int64_t serving_db = store_.DbNowMs();
  clock_.Advance(milliseconds(300));
  ASSERT_EQ(gate_->Step(true).action, Action::kNone);
  EXPECT_EQ(GateRow()->server_info_json,
            R"({"pod":"ams-0","podUid":"uid-0","ams":"serving","amsStartedAtMs":)" +
                std::to_string(started_db) + R"(,"servingSinceMs":)" + std::to_string(serving_db) +
                "}");
  EXPECT_EQ(GateRow()->updated_at_ms, store_.DbNowMs()) << "renewed: the controller sees it alive";
}

TEST_F(AmsGateTest, KeepsAmsRunningThroughADatabaseRestartOfFiveSeconds) {
  BecomeLeader();  // row ttl 8 s, margin 1 s: kill deadline in 7 s
  store_.SetUnavailable(true);
  clock_.Advance(seconds(6));
  GateDecision d = gate_->Step(true);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_FALSE(d.database_ok);
  EXPECT_EQ(d.summary,
            "leader: cannot confirm the lease (fake database is down); AMS keeps running for at "
            "most 1.0s unless the database answers");
  EXPECT_EQ(d.next_step, milliseconds(250)) << "retries at renewInterval / 4";
  ASSERT_TRUE(gate_->fence_deadline().has_value());
  store_.SetUnavailable(false);
  LeaseTo(0);
  EXPECT_EQ(gate_->Step(true).action, Action::kNone);
}

TEST_F(AmsGateTest, StopsAmsOnceTheLeaseCouldHaveExpiredWithoutAConfirmation) {
  BecomeLeader();
  store_.SetUnavailable(true);
  clock_.Advance(seconds(29) - milliseconds(1));
  EXPECT_EQ(gate_->Step(true).action, Action::kNone);
  clock_.Advance(milliseconds(1));
  GateDecision d = gate_->Step(true);
  EXPECT_EQ(d.action, Action::kStopAms);
  EXPECT_EQ(d.summary,
            "cannot confirm the lease (fake database is down) and it may have expired by now: "
            "stopping AMS");
}

TEST_F(AmsGateTest, TheKillDeadlineIsASafetyMarginBeforeTheRowCanExpireWhateverTheLease) {
  for (int left : {30000, 12000, 3000, 1500}) {
    store_.Clear({kCluster, kGateServiceName});
    gate_ = MakeGate(0);
    LeaseTo(0, milliseconds(left));
    const MonoTime write_start = clock_.Now();
    const int64_t db_start = store_.DbNowMs();
    ASSERT_EQ(gate_->Step(false).action, Action::kStartAms);
    const int64_t row_expiry = *GateRow()->lease_expire_ts_ms;
    ASSERT_TRUE(gate_->fence_deadline().has_value());
    const auto kill_in =
        std::chrono::duration_cast<milliseconds>(*gate_->fence_deadline() - write_start);
    EXPECT_EQ(kill_in, gate_config_.row_ttl - gate_config_.safety_margin) << "left " << left;
    EXPECT_EQ(db_start + kill_in.count(), row_expiry - gate_config_.safety_margin.count());
  }
}

TEST_F(AmsGateTest, ADeadGatesSuccessorStartsWithinTheRowTtlNotTheLeaseTtlPlusTheGrace) {
  gate_config_.stop_grace_period = seconds(30);
  auto crashed = MakeGate(1);
  LeaseTo(1, seconds(30));
  ASSERT_EQ(crashed->Step(false).action, Action::kStartAms);
  clock_.Advance(milliseconds(600));
  LeaseTo(1, seconds(30));
  ASSERT_EQ(crashed->Step(true).action, Action::kNone);  // its last renewal, then SIGKILL
  const MonoTime crash = clock_.Now();
  LeaseTo(0, seconds(30));  // the controller fails over
  gate_ = MakeGate(0);
  GateDecision d = gate_->Step(false);
  while (d.action != Action::kStartAms) {
    ASSERT_EQ(d.action, Action::kNone);
    clock_.Advance(d.next_step);
    d = gate_->Step(false);
  }
  EXPECT_LE(clock_.Now() - crash, gate_config_.row_ttl + milliseconds(10));
  EXPECT_GE(clock_.Now() - crash, gate_config_.row_ttl);
}

TEST_F(AmsGateTest, WhileAmsStopsRenewRowKeepsTheRowAndMovesTheKillDeadline) {
  BecomeLeader();
  LeaseTo(1);
  ASSERT_EQ(gate_->Step(true).action, Action::kStopAms);
  ASSERT_TRUE(gate_->fence_deadline().has_value()) << "kept while AMS stops";
  gate_->ReportAms({AmsReport::State::kStopping, clock_.Now(), std::nullopt});
  for (int i = 0; i < 20; ++i) {  // longer than the row ttl
    clock_.Advance(seconds(1));
    ASSERT_TRUE(gate_->RenewRow().ok()) << i;
    EXPECT_EQ(*gate_->fence_deadline(),
              clock_.Now() + gate_config_.row_ttl - gate_config_.safety_margin);
  }
  EXPECT_NE(GateRow()->server_info_json->find(R"("ams":"stopping")"), std::string::npos);
  EXPECT_EQ(MakeGate(1)->Step(false).action, Action::kNone) << "the successor still waits";
  const auto calls = store_.Calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "Read AMS/prod"), 3)
      << "no lease reads while stopping";
}

TEST_F(AmsGateTest, RenewRowSaysConflictOnceAnotherGateTookTheRow) {
  BecomeLeader();
  clock_.Advance(seconds(9));
  store_.Put({kCluster, kGateServiceName}, {"10.0.0.1:1261:uid-1", "10.0.0.1", "{}"}, seconds(8));
  EXPECT_TRUE(gate_->RenewRow().IsConflict());
  EXPECT_FALSE(gate_->HoldsRow());
}

TEST_F(AmsGateTest, RenewRowLeavesTheKillDeadlineWhenTheDatabaseIsDown) {
  BecomeLeader();
  const MonoTime deadline = *gate_->fence_deadline();
  store_.SetUnavailable(true);
  clock_.Advance(seconds(1));
  EXPECT_TRUE(gate_->RenewRow().IsUnavailable());
  EXPECT_EQ(*gate_->fence_deadline(), deadline);
}

TEST_F(AmsGateTest, StopsAmsWhenAnotherGateHoldsTheRowAfterThisOneFroze) {
  BecomeLeader();
  clock_.Advance(seconds(40));  // frozen: neither renewed nor stopped
  LeaseTo(1);
  auto other = MakeGate(1);
  ASSERT_EQ(other->Step(false).action, Action::kStartAms);
  LeaseTo(0);  // and back, as a confused controller might
  GateDecision d = gate_->Step(true);
  EXPECT_EQ(d.action, Action::kStopAms);
  EXPECT_EQ(d.summary,
            "the gate row is no longer this pod's (this gate could not renew it in time): killing "
            "AMS");
  EXPECT_TRUE(d.kill_now) << "no grace: another gate may start AMS any moment";
}

TEST_F(AmsGateTest, AdoptsItsRowWhenARenewalCommittedButItsReplyWasLost) {
  BecomeLeader();
  // The renewal commits (version + 1) but the gate never hears of it.
  auto row = GateRow();
  ASSERT_TRUE(
      store_.Renew({kCluster, kGateServiceName}, *row->node_id, row->version, seconds(36)).ok());
  clock_.Advance(seconds(2));
  GateDecision d = gate_->Step(true);
  EXPECT_EQ(d.action, Action::kNone) << d.summary;
  clock_.Advance(seconds(1));
  EXPECT_EQ(gate_->Step(true).action, Action::kNone);
  EXPECT_TRUE(gate_->ReleaseRow().ok());
  EXPECT_TRUE(GateRow()->Expired());
}

TEST_F(AmsGateTest, GivesTheRowBackWhenTheLeaseMovesBeforeAmsStarted) {
  BecomeLeader();  // the row is taken; suppose starting AMS failed and it did not run
  LeaseTo(1);
  GateDecision d = gate_->Step(false);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_FALSE(gate_->HoldsRow());
  EXPECT_TRUE(GateRow()->Expired());
}

TEST_F(AmsGateTest, ReleasingTheRowLetsTheNextLeaderStartAtOnce) {
  BecomeLeader();
  ASSERT_TRUE(gate_->ReleaseRow().ok());
  EXPECT_TRUE(GateRow()->Expired());
  EXPECT_TRUE(gate_->ReleaseRow().ok()) << "releasing twice is harmless";
  LeaseTo(1);
  EXPECT_EQ(MakeGate(1)->Step(false).action, Action::kStartAms);
}

TEST_F(AmsGateTest, ALeaderRereadsSoonWhileTheLeaseIsAboutToExpire) {
  BecomeLeader();
  LeaseTo(0, milliseconds(800));  // less than the 1 s margin left: a controller takeover
  GateDecision d = gate_->Step(true);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.next_step, milliseconds(200)) << "neither spinning nor waiting a whole poll";
}

TEST_F(AmsGateTest, DoesNotStartAmsOnALeaseThatWouldBeFencedAtOnce) {
  LeaseTo(0, milliseconds(1100));  // 100 ms before the fence deadline
  GateDecision d = gate_->Step(false);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.summary,
            "leader: the lease expires in 1.1s (safety margin 1.0s); waiting for it to be renewed "
            "before starting AMS");
  EXPECT_EQ(d.next_step, milliseconds(200));
  EXPECT_FALSE(gate_->HoldsRow()) << "nothing taken";
  LeaseTo(0, seconds(30));  // renewed
  EXPECT_EQ(gate_->Step(false).action, Action::kStartAms);
}

TEST_F(AmsGateTest, WaitsWithoutWritingWhileTheDatabaseCannotBeRead) {
  store_.SetUnavailable(true);
  GateDecision d = gate_->Step(false);
  EXPECT_EQ(d.action, Action::kNone);
  EXPECT_EQ(d.summary, "waiting: cannot read the lease: fake database is down");
  EXPECT_TRUE(d.status.IsUnavailable());
}

}  // namespace
}  // namespace amsha
