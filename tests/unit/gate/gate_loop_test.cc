#include "gate/gate_loop.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "support/fake_lease_store.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;

// An AMS process that lives in the test's imagination.
class FakeAms : public AmsRunner {
 public:
  Status Start() override {
    ++starts;
    if (!start_error.ok()) return start_error;
    running = true;
    exit_status.reset();
    return Status::Ok();
  }
  bool Running() override { return running; }
  std::optional<int> ExitStatus() const override { return exit_status; }
  void Signal(int signal) override {
    if (!running) return;
    signals.push_back(signal);
    if (signal == SIGKILL || exits_on_signal) {
      running = false;
      exit_status = 128 + signal;
    }
  }
  int Stop(int first_signal, milliseconds grace) override {
    stops.push_back({first_signal, grace});
    if (running) {
      running = false;
      exit_status = 128 + first_signal;
    }
    return exit_status.value_or(0);
  }
  pid_t pid() const override { return 4242; }
  // AMS exits by itself with `code`.
  void Exit(int code) {
    running = false;
    exit_status = code;
  }

  bool running = false;
  bool exits_on_signal = true;  // false: keeps running until SIGKILL or Exit()
  std::optional<int> exit_status;
  Status start_error;
  int starts = 0;
  std::vector<int> signals;
  std::vector<std::pair<int, milliseconds>> stops;
};

// Records what the loop hands the fence; the tests fire it.
class FakeFence : public Fence {
 public:
  void Arm(pid_t group, MonoTime at) override {
    if (group != pgid) fired = false;
    pgid = group;
    kill_at = at;
  }
  void Disarm() override { pgid = 0; }
  bool Fired() const override { return fired; }
  // What the fence process does at the deadline.
  void Fire(AmsRunner* ams) {
    ams->Signal(SIGKILL);
    fired = true;
    pgid = 0;
  }
  pid_t pgid = 0;
  std::optional<MonoTime> kill_at;
  bool fired = false;
};

// Returns at once: the tests decide when time passes.
class FakeNotifier : public LeaseChangeNotifier {
 public:
  bool Wait(milliseconds) override {
    ++waits;
    return false;
  }
  void Interrupt() override { ++interrupts; }
  int waits = 0;
  int interrupts = 0;
};

class GateLoopTest : public ::testing::Test {
 protected:
  GateLoopTest() : store_(&clock_) {
    cluster_.name = "prod";
    cluster_.lease_ttl = seconds(30);
    gate_.stop_grace_period = seconds(7);
    gate_.poll_interval = seconds(2);
    gate_.safety_margin = seconds(1);
    GateLoop::Deps deps;
    deps.store = &store_;
    deps.notifier = &notifier_;
    deps.ams = &ams_;
    deps.fence = &fence_;
    deps.clock = &clock_;
    deps.probe_ams = [this] {
      ++probes_;
      return ams_answers_;
    };
    loop_ = std::make_unique<GateLoop>(GateIdentity{"ams-0", "uid-0", "10.0.0.1"}, cluster_, gate_,
                                       deps);
  }

  void LeaseTo(const std::string& uid, milliseconds ttl = seconds(30)) {
    store_.Put({"prod", kAmsServiceName}, {"10.0.0.9:1261:" + uid, "10.0.0.9", "{}"}, ttl);
  }
  std::optional<LeaseRecord> GateRow() { return store_.Row({"prod", kGateServiceName}); }
  // Runs passes until AMS runs.
  void BecomeLeader() {
    LeaseTo("uid-0");
    GateLoop::Pass pass = loop_->RunOnce();
    ASSERT_FALSE(pass.exit_code.has_value());
    ASSERT_TRUE(ams_.running);
  }

  FakeClock clock_;
  FakeLeaseStore store_;
  FakeAms ams_;
  FakeFence fence_;
  FakeNotifier notifier_;
  ClusterConfig cluster_;
  GateConfig gate_;
  std::unique_ptr<GateLoop> loop_;
  bool ams_answers_ = false;  // the local probe of AMS's REST port
  int probes_ = 0;
};

std::string AmsStateInRow(const std::optional<LeaseRecord>& row) {
  if (!row || !row->server_info_json) return "";
  const std::string& json = *row->server_info_json;
  size_t at = json.find("\"ams\":\"");
  if (at == std::string::npos) return "";
  at += 7;
  return json.substr(at, json.find('"', at) - at);
}

TEST_F(GateLoopTest, AFollowerNeitherStartsAmsNorExits) {
  LeaseTo("uid-1");
  for (int i = 0; i < 3; ++i) {
    GateLoop::Pass pass = loop_->RunOnce();
    EXPECT_FALSE(pass.exit_code.has_value());
    EXPECT_EQ(pass.wait, seconds(2));
  }
  EXPECT_EQ(ams_.starts, 0);
}

TEST_F(GateLoopTest, StartsAmsWhenItsPodLeads) {
  BecomeLeader();
  EXPECT_EQ(ams_.starts, 1);
  EXPECT_TRUE(GateRow().has_value());
  GateLoop::Pass pass = loop_->RunOnce();
  EXPECT_FALSE(pass.exit_code.has_value());
  EXPECT_EQ(ams_.starts, 1) << "started once";
}

TEST_F(GateLoopTest, TheRowSaysStartingUntilTheLocalProbeAnswersThenServingThenUnresponsive) {
  LeaseTo("uid-0");
  GateLoop::Pass start = loop_->RunOnce();
  ASSERT_TRUE(ams_.running);
  EXPECT_EQ(start.wait, milliseconds(0)) << "writes the start time into the row at once";
  EXPECT_EQ(AmsStateInRow(GateRow()), "stopped") << "taken before AMS started";
  loop_->RunOnce();
  EXPECT_EQ(AmsStateInRow(GateRow()), "starting");
  EXPECT_EQ(GateRow()->server_info_json->find("\"amsStartedAtMs\":0"), std::string::npos)
      << *GateRow()->server_info_json;
  for (int i = 0; i < 4; ++i) {  // a JVM that takes its time: never unresponsive
    clock_.Advance(seconds(2));
    LeaseTo("uid-0");
    loop_->RunOnce();
    EXPECT_EQ(AmsStateInRow(GateRow()), "starting");
  }
  ams_answers_ = true;
  clock_.Advance(seconds(2));
  LeaseTo("uid-0");
  loop_->RunOnce();
  EXPECT_EQ(AmsStateInRow(GateRow()), "serving");
  EXPECT_NE(
      GateRow()->server_info_json->find("\"servingSinceMs\":" + std::to_string(store_.DbNowMs())),
      std::string::npos)
      << *GateRow()->server_info_json;
  ams_answers_ = false;
  for (int i = 1; i <= 3; ++i) {
    clock_.Advance(seconds(1));
    LeaseTo("uid-0");
    loop_->RunOnce();
    EXPECT_EQ(AmsStateInRow(GateRow()), i < 3 ? "serving" : "unresponsive") << i;
  }
  ams_answers_ = true;
  clock_.Advance(seconds(1));
  LeaseTo("uid-0");
  loop_->RunOnce();
  EXPECT_EQ(AmsStateInRow(GateRow()), "serving");
}

TEST_F(GateLoopTest, AFollowerNeverProbesAms) {
  LeaseTo("uid-1");
  for (int i = 0; i < 3; ++i) loop_->RunOnce();
  EXPECT_EQ(probes_, 0);
}

TEST_F(GateLoopTest, StopsAmsReleasesTheRowAndExitsFencedWhenTheLeaseMoves) {
  BecomeLeader();
  ams_.exits_on_signal = false;
  LeaseTo("uid-2");
  GateLoop::Pass pass = loop_->RunOnce();
  ASSERT_FALSE(pass.exit_code.has_value());
  EXPECT_EQ(ams_.signals, std::vector<int>{SIGTERM});
  EXPECT_FALSE(GateRow()->Expired()) << "held while AMS stops";
  EXPECT_EQ(AmsStateInRow(GateRow()), "stopping");
  ams_.Exit(0);
  loop_->Wake();
  pass = loop_->RunOnce();
  ASSERT_TRUE(pass.exit_code.has_value());
  EXPECT_EQ(*pass.exit_code, kGateExitFenced);
  EXPECT_TRUE(GateRow()->Expired()) << "released after AMS stopped";
}

TEST_F(GateLoopTest, ASlowStopGetsItsWholeGraceWhileTheRowIsRenewedThenSigkill) {
  BecomeLeader();
  ams_.exits_on_signal = false;
  LeaseTo("uid-2");
  GateLoop::Pass pass = loop_->RunOnce();
  int64_t expiry = *GateRow()->lease_expire_ts_ms;
  for (int s = 1; s < 7; ++s) {  // stopGracePeriod 7s, renewInterval 1s
    clock_.Advance(pass.wait);
    pass = loop_->RunOnce();
    ASSERT_FALSE(pass.exit_code.has_value());
    EXPECT_EQ(ams_.signals, std::vector<int>{SIGTERM}) << s;
    EXPECT_GT(*GateRow()->lease_expire_ts_ms, expiry) << "renewed: the successor keeps waiting";
    expiry = *GateRow()->lease_expire_ts_ms;
    EXPECT_EQ(fence_.kill_at, clock_.Now() + gate_.row_ttl - gate_.safety_margin)
        << "the kill deadline moves with each renewal, not with the grace";
  }
  clock_.Advance(pass.wait);
  pass = loop_->RunOnce();
  EXPECT_EQ(ams_.signals, (std::vector<int>{SIGTERM, SIGKILL})) << "SIGKILL when the grace ends";
  pass = loop_->RunOnce();
  EXPECT_EQ(pass.exit_code, kGateExitFenced);
  EXPECT_TRUE(GateRow()->Expired());
}

TEST_F(GateLoopTest, AStopThatLosesItsRowKillsAmsAtOnce) {
  BecomeLeader();
  ams_.exits_on_signal = false;
  LeaseTo("uid-2");
  loop_->RunOnce();
  // Frozen past the row's expiry; another gate took the row meanwhile.
  clock_.Advance(seconds(9));
  store_.Put({"prod", kGateServiceName}, {"10.0.0.2:1261:uid-2", "10.0.0.2", "{}"}, seconds(8));
  loop_->RunOnce();
  EXPECT_EQ(ams_.signals, (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_EQ(loop_->RunOnce().exit_code, kGateExitFenced);
  EXPECT_EQ(GateRow()->node_id, "10.0.0.2:1261:uid-2") << "not released: not ours";
}

TEST_F(GateLoopTest, PassesSigtermToAmsThenExitsWithItsStatus) {
  BecomeLeader();
  loop_->RequestStop(SIGTERM);
  EXPECT_EQ(notifier_.interrupts, 1) << "a waiting loop is woken";
  GateLoop::Pass pass = loop_->RunOnce();
  ASSERT_TRUE(pass.exit_code.has_value());
  EXPECT_EQ(*pass.exit_code, 128 + SIGTERM);
  EXPECT_EQ(ams_.signals, std::vector<int>{SIGTERM});
  EXPECT_TRUE(GateRow()->Expired());
}

TEST_F(GateLoopTest, PassesSigintAsSigint) {
  BecomeLeader();
  loop_->RequestStop(SIGINT);
  loop_->RequestStop(SIGTERM);  // the first signal wins
  EXPECT_EQ(*loop_->RunOnce().exit_code, 128 + SIGINT);
}

TEST_F(GateLoopTest, AFollowerExitsZeroOnSigterm) {
  LeaseTo("uid-1");
  loop_->RunOnce();
  loop_->RequestStop(SIGTERM);
  GateLoop::Pass pass = loop_->RunOnce();
  EXPECT_EQ(pass.exit_code, 0);
  EXPECT_TRUE(ams_.signals.empty());
}

TEST_F(GateLoopTest, ExitsWithAmsStatusWhenAmsExitsOnItsOwn) {
  BecomeLeader();
  ams_.Exit(42);
  loop_->Wake();
  GateLoop::Pass pass = loop_->RunOnce();
  EXPECT_EQ(pass.exit_code, 42);
  EXPECT_TRUE(GateRow()->Expired()) << "the next leader need not wait";
}

TEST_F(GateLoopTest, ExitsOneAndGivesTheRowBackWhenAmsCannotStart) {
  ams_.start_error = NotFoundError("no such command");
  LeaseTo("uid-0");
  GateLoop::Pass pass = loop_->RunOnce();
  EXPECT_EQ(pass.exit_code, 1);
  EXPECT_TRUE(GateRow()->Expired());
}

TEST_F(GateLoopTest, ArmsTheFenceWithAmsGroupAndTheKillDeadlineAtTheStart) {
  const MonoTime start = clock_.Now();
  BecomeLeader();  // row ttl 8 s, margin 1 s: kill deadline in 7 s
  EXPECT_EQ(fence_.pgid, 4242);
  EXPECT_EQ(fence_.kill_at, start + seconds(7));
}

TEST_F(GateLoopTest, ARenewalMovesTheKillDeadline) {
  BecomeLeader();
  clock_.Advance(seconds(5));
  LeaseTo("uid-0");
  loop_->RunOnce();  // renews the row
  EXPECT_EQ(fence_.kill_at, clock_.Now() + seconds(7));
}

TEST_F(GateLoopTest, AFailedRenewalLeavesTheKillDeadlineWhereItWas) {
  BecomeLeader();
  const MonoTime deadline = *fence_.kill_at;
  store_.SetUnavailable(true);
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(milliseconds(500));
    GateLoop::Pass pass = loop_->RunOnce();
    EXPECT_FALSE(pass.exit_code.has_value());
    EXPECT_EQ(fence_.kill_at, deadline) << i;
    EXPECT_TRUE(ams_.signals.empty()) << "the gate itself does not stop AMS before the fence";
  }
}

TEST_F(GateLoopTest, AfterTheFenceFiredTheLoopReleasesTheRowAndExitsFenced) {
  BecomeLeader();
  clock_.Advance(seconds(7));
  fence_.Fire(&ams_);  // the gate was stalled meanwhile
  GateLoop::Pass pass = loop_->RunOnce();
  if (!pass.exit_code) pass = loop_->RunOnce();
  EXPECT_EQ(pass.exit_code, kGateExitFenced);
  EXPECT_EQ(ams_.signals, std::vector<int>{SIGKILL}) << "no SIGTERM, no grace";
  EXPECT_TRUE(GateRow()->Expired());
}

TEST_F(GateLoopTest, TheFenceIsDisarmedOnceAmsHasExited) {
  BecomeLeader();
  ams_.Exit(0);
  loop_->RunOnce();
  EXPECT_EQ(fence_.pgid, 0);
}

TEST_F(GateLoopTest, ALeaderRenewsItsRowEveryRenewIntervalWhateverTheLeaseTtl) {
  BecomeLeader();
  GateLoop::Pass pass = loop_->RunOnce();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(pass.wait, gate_.renew_interval);
    clock_.Advance(pass.wait);
    pass = loop_->RunOnce();
  }
  EXPECT_EQ(*GateRow()->lease_expire_ts_ms, store_.DbNowMs() + gate_.row_ttl.count());
}

TEST_F(GateLoopTest, AFollowerIsReadyOnceItHasReadTheLease) {
  EXPECT_FALSE(loop_->Health("/readyz").ok) << "nothing read yet";
  LeaseTo("uid-1");
  loop_->RunOnce();
  ReadinessServer::Answer ready = loop_->Health("/readyz");
  EXPECT_TRUE(ready.ok);
  EXPECT_EQ(ready.text,
            "ready: follower: lease held by 10.0.0.9:1261:uid-1 (node_ip 10.0.0.9), "
            "waiting");
}

TEST_F(GateLoopTest, StaysReadyThroughAShortOutageButNotALongOne) {
  LeaseTo("uid-1");
  loop_->RunOnce();
  store_.SetUnavailable(true);
  clock_.Advance(seconds(2));
  loop_->RunOnce();
  EXPECT_TRUE(loop_->Health("/readyz").ok);
  for (int i = 0; i < 15; ++i) {
    clock_.Advance(seconds(2));
    loop_->RunOnce();
  }
  ReadinessServer::Answer answer = loop_->Health("/readyz");
  EXPECT_FALSE(answer.ok);
  EXPECT_EQ(answer.text, "not ready: the database was last reached 32.0s ago");
  EXPECT_TRUE(loop_->Health("/healthz").ok) << "alive, just cut off";
}

TEST_F(GateLoopTest, IsNeitherHealthyNorReadyWhenTheLoopStopsTurning) {
  LeaseTo("uid-1");
  loop_->RunOnce();
  clock_.Advance(seconds(60));
  EXPECT_TRUE(loop_->Health("/healthz").ok) << "a pass may wait for a few database calls";
  clock_.Advance(milliseconds(1));
  EXPECT_FALSE(loop_->Health("/healthz").ok);
  EXPECT_EQ(loop_->Health("/readyz").text, "not ready: the gate loop is stuck");
}

}  // namespace
}  // namespace amsha
