#include "election/cluster_elector.h"

#include <gtest/gtest.h>

#include "election/pod_identity.h"
#include "support/fake_lease_store.h"
#include "support/pod_builder.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;
using testing::PodBuilder;
using Routing = ElectionOutcome::Routing;

class ClusterElectorTest : public ::testing::Test {
 public:
  ClusterElectorTest() : store_(&clock_), health_(&clock_) {
    cluster_.name = "prod";
    cluster_.pod_selector = "app=amoro";
    cluster_.not_ready_grace_period = seconds(5);
    cluster_.probe.failure_threshold = 3;
    elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
    pods_ = {PodBuilder("ams-0").ReadySince("2026-01-01T00:00:03Z"),
             PodBuilder("ams-1").ReadySince("2026-01-01T00:00:01Z"),
             PodBuilder("ams-2").ReadySince("2026-01-01T00:00:02Z")};
  }

  ElectionOutcome Step(std::optional<std::string> switchover = std::nullopt) {
    health_.ObservePods(pods_);
    return elector_->Step(pods_, switchover);
  }
  Pod& PodNamed(const std::string& name) {
    for (Pod& p : pods_) {
      if (p.name == name) return p;
    }
    throw std::runtime_error("no pod " + name);
  }
  std::string HolderPod() {
    auto row = store_.Row(elector_->key());
    if (!row || !row->node_id || row->Expired()) return "";
    for (const Pod& p : pods_) {
      if (UidFromNodeId(*row->node_id) == p.uid) return p.name;
    }
    return "?" + *row->node_id;
  }
  // Elects ams-1 (Ready longest), whose AMS then answers a probe (it
  // served), and returns the outcome.
  ElectionOutcome ElectFirst() {
    ElectionOutcome o = Step();
    EXPECT_EQ(o.leader->name, "ams-1");
    health_.RecordProbe("uid-ams-1", true);
    return o;
  }

  FakeClock clock_;
  FakeLeaseStore store_;
  HealthTracker health_;
  ClusterConfig cluster_;
  std::unique_ptr<ClusterElector> elector_;
  std::vector<Pod> pods_;
};

TEST_F(ClusterElectorTest, ElectsThePodReadyLongestWhenTheLeaseIsEmpty) {
  ElectionOutcome o = Step();
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_EQ(o.routing, Routing::kRouteTo);
  EXPECT_EQ(o.leader->name, "ams-1");
  EXPECT_TRUE(o.transitioned);
  EXPECT_FALSE(o.reason.has_value()) << "a first election is not a failover";
  EXPECT_EQ(HolderPod(), "ams-1");
  EXPECT_EQ(store_.Row(elector_->key())->lease_expire_ts_ms,
            store_.DbNowMs() + cluster_.lease_ttl.count());
}

TEST_F(ClusterElectorTest, NeverElectsAPodThatIsNotReadyTerminatingOrWithoutAnIp) {
  PodNamed("ams-1").ready = false;
  PodNamed("ams-2").deletion_timestamp = "2026-01-01T00:00:09Z";
  PodNamed("ams-0").pod_ip = "";
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteNone);
  EXPECT_FALSE(o.leader.has_value());
  EXPECT_EQ(store_.CountCalls("Acquire"), 0);
}

TEST_F(ClusterElectorTest, RecoversByItselfWhenAPodBecomesReady) {
  for (Pod& p : pods_) p.ready = false;
  EXPECT_EQ(Step().routing, Routing::kRouteNone);
  PodNamed("ams-2").ready = true;
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteTo);
  EXPECT_EQ(o.leader->name, "ams-2");
}

TEST_F(ClusterElectorTest, RenewsALiveLeaderOnlyOnceEveryHeartbeat) {
  ElectFirst();
  int32_t version = store_.Row(elector_->key())->version;
  clock_.Advance(cluster_.heartbeat_interval - milliseconds(1));
  ElectionOutcome early = Step();
  EXPECT_EQ(early.renew, RenewResult::kNone);
  EXPECT_EQ(early.routing, Routing::kRouteTo);
  clock_.Advance(milliseconds(1));
  ElectionOutcome due = Step();
  EXPECT_EQ(due.renew, RenewResult::kOk);
  EXPECT_FALSE(due.transitioned);
  EXPECT_EQ(store_.Row(elector_->key())->version, version + 1);
}

TEST_F(ClusterElectorTest, ANewControllerAdoptsTheLeaseWithoutAFailover) {
  ElectFirst();
  int32_t version = store_.Row(elector_->key())->version;
  // A controller restart or takeover: fresh elector and tracker, same row.
  HealthTracker fresh_health(&clock_);
  ClusterElector fresh(cluster_, &store_, &clock_, &fresh_health);
  fresh_health.ObservePods(pods_);
  ElectionOutcome o = fresh.Step(pods_);
  EXPECT_EQ(o.renew, RenewResult::kOk) << "adopts holder and version from the row at once";
  EXPECT_FALSE(o.transitioned);
  EXPECT_EQ(o.leader->name, "ams-1");
  EXPECT_EQ(store_.Row(elector_->key())->version, version + 1);
}

TEST_F(ClusterElectorTest, PublishesServiceInfoOncePerLeaderWithEachServicesPort) {
  ElectFirst();
  EXPECT_EQ(store_.CountCalls("PublishServiceInfo"), 1);
  auto table = store_.Row({"prod", kTableServiceName});
  auto optimizing = store_.Row({"prod", kOptimizingServiceName});
  ASSERT_TRUE(table && optimizing);
  const Pod& leader = PodNamed("ams-1");
  EXPECT_EQ(*table->server_info_json,
            R"({"host":")" + leader.pod_ip + R"(","thriftBindPort":1260,"restBindPort":1630})");
  EXPECT_EQ(*optimizing->server_info_json,
            R"({"host":")" + leader.pod_ip + R"(","thriftBindPort":1261,"restBindPort":1630})");
  clock_.Advance(cluster_.heartbeat_interval);
  Step();
  EXPECT_EQ(store_.CountCalls("PublishServiceInfo"), 1) << "not again while the leader is the same";
}

// How the leader is lost, and what the elector must do about it.
struct LossCase {
  const char* name;
  std::function<void(ClusterElectorTest*)> lose;
  std::optional<FailoverReason> reason;  // nullopt: no failover
};

class ClusterElectorLossTest : public ClusterElectorTest,
                               public ::testing::WithParamInterface<LossCase> {};

TEST_P(ClusterElectorLossTest, FailsOverOnlyWhenTheLeaderIsReallyLost) {
  ElectFirst();
  GetParam().lose(this);
  ElectionOutcome o = Step();
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  if (!GetParam().reason) {
    EXPECT_FALSE(o.transitioned) << o.summary;
    EXPECT_EQ(HolderPod(), "ams-1");
    EXPECT_EQ(o.routing, Routing::kRouteTo);
    EXPECT_EQ(o.leader->name, "ams-1");
    return;
  }
  EXPECT_TRUE(o.transitioned) << o.summary;
  ASSERT_TRUE(o.reason.has_value());
  EXPECT_EQ(FailoverReasonName(*o.reason), std::string(FailoverReasonName(*GetParam().reason)));
  EXPECT_EQ(o.leader->name, "ams-2") << "the next pod Ready longest";
  EXPECT_EQ(HolderPod(), "ams-2");
  EXPECT_EQ(store_.CountCalls("HandOver"), 1) << "one atomic hand-over, no wait for the TTL";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ClusterElectorLossTest,
    ::testing::Values(LossCase{"LeaderTerminatingFailsOverAtOnce",
                               [](ClusterElectorTest* t) {
                                 t->PodNamed("ams-1").deletion_timestamp = "2026-01-01T00:01:00Z";
                               },
                               FailoverReason::kPodDeleted},
                      LossCase{"LeaderGoneFromTheApiFailsOverAtOnce",
                               [](ClusterElectorTest* t) { t->pods_.erase(t->pods_.begin() + 1); },
                               FailoverReason::kPodDeleted},
                      LossCase{"LeaderNotReadyForLessThanTheGraceChangesNothing",
                               [](ClusterElectorTest* t) {
                                 t->PodNamed("ams-1").ready = false;
                                 t->health_.ObservePods(t->pods_);
                                 t->clock_.Advance(seconds(5) - milliseconds(1));
                               },
                               std::nullopt},
                      LossCase{"LeaderNotReadyForTheGraceFailsOver",
                               [](ClusterElectorTest* t) {
                                 t->PodNamed("ams-1").ready = false;
                                 t->health_.ObservePods(t->pods_);
                                 t->clock_.Advance(seconds(5));
                               },
                               FailoverReason::kNotReady},
                      LossCase{"ProbeFailuresBelowTheThresholdChangeNothing",
                               [](ClusterElectorTest* t) {
                                 for (int i = 0; i < 2; ++i)
                                   t->health_.RecordProbe("uid-ams-1", false);
                               },
                               std::nullopt},
                      LossCase{"ProbeFailuresAtTheThresholdFailOver",
                               [](ClusterElectorTest* t) {
                                 for (int i = 0; i < 3; ++i)
                                   t->health_.RecordProbe("uid-ams-1", false);
                               },
                               FailoverReason::kProbeFailed},
                      LossCase{"ASuccessfulProbeResetsTheFailureCount",
                               [](ClusterElectorTest* t) {
                                 for (int i = 0; i < 2; ++i)
                                   t->health_.RecordProbe("uid-ams-1", false);
                                 t->health_.RecordProbe("uid-ams-1", true);
                                 t->health_.RecordProbe("uid-ams-1", false);
                               },
                               std::nullopt}),
    [](const auto& info) { return info.param.name; });

TEST_F(ClusterElectorTest, FailuresFromAnEarlierTermNeverBounceTheLeaseBetweenTwoPods) {
  // ams-1 leads and stops answering: the lease goes to ams-2.
  ElectFirst();
  for (int i = 0; i < 3; ++i) health_.RecordProbe("uid-ams-1", false);
  ASSERT_EQ(Step().leader->name, "ams-2");
  // ams-1's AMS comes back (nobody probes followers, so its count stays),
  // then ams-2 serves and stops answering, and ams-0 is gone.
  pods_.erase(pods_.begin());
  health_.RecordProbe("uid-ams-2", true);
  for (int i = 0; i < 3; ++i) health_.RecordProbe("uid-ams-2", false);
  ElectionOutcome o = Step();
  ASSERT_TRUE(o.transitioned);
  EXPECT_EQ(o.leader->name, "ams-1");
  // The old failures of ams-1 belong to its previous term.
  for (int i = 0; i < 5; ++i) {
    ElectionOutcome next = Step();
    EXPECT_FALSE(next.transitioned) << "bounced back: " << next.summary;
    EXPECT_EQ(HolderPod(), "ams-1");
  }
}

TEST_F(ClusterElectorTest, APodThatFailedItsProbesWhenItLedIsChosenLast) {
  ElectFirst();  // ams-1
  for (int i = 0; i < 3; ++i) health_.RecordProbe("uid-ams-1", false);
  ASSERT_EQ(Step().leader->name, "ams-2");
  health_.RecordProbe("uid-ams-2", true);
  for (int i = 0; i < 3; ++i) health_.RecordProbe("uid-ams-2", false);
  // ams-1 has been Ready longest, but its AMS failed when it last led.
  EXPECT_EQ(Step().leader->name, "ams-0");
}

// Issue 10, "stuck with no leader": the only candidate's AMS crashes (its
// probes fail), its gate exits and restarts so the pod is NotReady for a few
// seconds, the lease is released; then the pod is Ready again. Whatever the
// probes said in the term that ended, it must be elected again within
// leaseTtl + 2 x heartbeat (the AMS start comes on top, in the gate).
class StuckWithNoLeaderTest : public ClusterElectorTest,
                              public ::testing::WithParamInterface<int> {};

TEST_P(StuckWithNoLeaderTest, TheOnlyCandidateIsElectedAgainOnceItIsReady) {
  const int failures = GetParam();
  pods_ = {PodBuilder("ams-0").ReadySince("2026-01-01T00:00:01Z")};
  ASSERT_EQ(Step().leader->name, "ams-0");
  health_.RecordProbe("uid-ams-0", true);  // its AMS served
  clock_.Advance(seconds(3));
  ASSERT_FALSE(Step().transitioned);
  // The AMS crashes: the probe fails `failures` times before the gate exits.
  for (int i = 0; i < failures; ++i) health_.RecordProbe("uid-ams-0", false);
  PodNamed("ams-0").ready = false;  // the gate restarts: /readyz fails
  for (int i = 0; i < 7; ++i) {
    clock_.Advance(seconds(1));
    Step();
  }
  ASSERT_EQ(HolderPod(), "") << "lost (NotReady or probe) with nobody to take over: released";
  PodNamed("ams-0").ready = true;
  PodNamed("ams-0").ready_transition_time = "2026-01-01T00:01:00Z";
  const MonoTime ready_at = clock_.Now();
  const auto bound = cluster_.lease_ttl + 2 * cluster_.heartbeat_interval;
  while (HolderPod().empty() && clock_.Now() - ready_at <= bound) {
    Step();
    clock_.Advance(milliseconds(500));
  }
  ASSERT_EQ(HolderPod(), "ams-0") << "the Ready sole candidate was never elected";
  // Its new term starts clean: an AMS that starts and serves keeps the lease.
  health_.RecordProbe("uid-ams-0", true);
  for (int i = 0; i < 30; ++i) {
    clock_.Advance(seconds(1));
    ElectionOutcome o = Step();
    EXPECT_FALSE(o.transitioned) << o.summary;
    EXPECT_EQ(o.routing, Routing::kRouteTo);
  }
  EXPECT_EQ(HolderPod(), "ams-0");
}

INSTANTIATE_TEST_SUITE_P(FailuresBeforeTheGateExited, StuckWithNoLeaderTest,
                         ::testing::Values(1, 2, 3, 5));

TEST_F(ClusterElectorTest, AnExpiredLeaseOfASuspectHolderDoesNotBlockTheElection) {
  ElectFirst();  // ams-1
  health_.RecordProbe("uid-ams-1", true);
  health_.RecordProbe("uid-ams-1", false);  // Suspect: one failure
  store_.SetUnavailable(true);
  clock_.Advance(cluster_.lease_ttl + seconds(1));
  Step();
  store_.SetUnavailable(false);
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteTo) << o.summary;
  ASSERT_TRUE(o.leader.has_value()) << o.summary;
  EXPECT_EQ(o.leader->name, "ams-2") << "the suspect holder's term ended; it comes last";
}

TEST_F(ClusterElectorTest, ProbeFailuresDoNotCountWhenTheProbeIsDisabled) {
  cluster_.probe.enabled = false;
  elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
  ElectFirst();
  for (int i = 0; i < 10; ++i) health_.RecordProbe("uid-ams-1", false);
  EXPECT_FALSE(Step().transitioned);
}

TEST_F(ClusterElectorTest, ASuspectLeaderKeepsItsRouteButIsNotRenewed) {
  ElectFirst();
  PodNamed("ams-1").ready = false;
  clock_.Advance(cluster_.heartbeat_interval);
  ElectionOutcome o = Step();
  EXPECT_EQ(o.renew, RenewResult::kNone) << "the lease stands for a live AMS";
  EXPECT_EQ(o.routing, Routing::kRouteTo);
  EXPECT_EQ(o.leader->name, "ams-1");
}

TEST_F(ClusterElectorTest, ALostLeaderWithoutCandidatesReleasesTheLeaseAndRoutesNowhere) {
  ElectFirst();
  pods_ = {PodNamed("ams-1")};
  pods_[0].deletion_timestamp = "2026-01-01T00:01:00Z";
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteNone);
  EXPECT_EQ(HolderPod(), "") << "expired, so the next Ready pod can take it";
  pods_ = {PodBuilder("ams-3")};
  ElectionOutcome next = Step();
  EXPECT_EQ(next.leader->name, "ams-3");
}

TEST_F(ClusterElectorTest, SwitchoverMovesTheLeaseToTheNamedCandidate) {
  ElectFirst();
  ElectionOutcome o = Step("ams-0");
  EXPECT_TRUE(o.transitioned);
  EXPECT_EQ(*o.reason, FailoverReason::kSwitchover);
  EXPECT_EQ(o.leader->name, "ams-0");
  EXPECT_EQ(o.previous_pod, "ams-1");
  EXPECT_EQ(HolderPod(), "ams-0");
}

TEST_F(ClusterElectorTest, SwitchoverToAPodThatIsNotACandidateIsRejectedAndChangesNothing) {
  ElectFirst();
  PodNamed("ams-0").ready = false;
  ElectionOutcome o = Step("ams-0");
  EXPECT_FALSE(o.transitioned);
  ASSERT_TRUE(o.switchover_rejected.has_value());
  EXPECT_NE(o.switchover_rejected->find("not a candidate"), std::string::npos);
  EXPECT_EQ(HolderPod(), "ams-1");
  EXPECT_TRUE(Step("nope").switchover_rejected.has_value());
}

TEST_F(ClusterElectorTest, ForeignHolderIsLeftAloneUntilItsLeaseExpires) {
  store_.Put(elector_->key(), {"10.9.9.9:1261:amoro-own-uuid", "10.9.9.9", "{}"}, seconds(30));
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteNone);
  EXPECT_EQ(*o.foreign_holder, "10.9.9.9:1261:amoro-own-uuid");
  EXPECT_EQ(store_.CountCalls("Acquire") + store_.CountCalls("HandOver"), 0);
  clock_.Advance(seconds(30));
  ElectionOutcome later = Step();
  EXPECT_TRUE(later.transitioned);
  EXPECT_EQ(*later.reason, FailoverReason::kForeignExpired);
  EXPECT_EQ(later.leader->name, "ams-1");
}

TEST_F(ClusterElectorTest, DatabaseOutageKeepsTheCurrentRouting) {
  ElectFirst();
  store_.SetUnavailable(true);
  clock_.Advance(cluster_.heartbeat_interval);
  ElectionOutcome o = Step();
  EXPECT_TRUE(o.status.IsUnavailable());
  EXPECT_EQ(o.routing, Routing::kKeep);
  EXPECT_FALSE(o.leader.has_value()) << "never route to a pod the database has not confirmed";
}

TEST_F(ClusterElectorTest, AfterAnOutageLongerThanTheTtlTheLiveLeaderTakesItsLeaseBack) {
  ElectFirst();
  store_.SetUnavailable(true);
  clock_.Advance(seconds(60));
  Step();
  store_.SetUnavailable(false);
  ElectionOutcome o = Step();
  ASSERT_TRUE(o.status.ok()) << o.status.ToString();
  EXPECT_FALSE(o.transitioned) << "no failover after a database outage";
  EXPECT_EQ(o.leader->name, "ams-1");
  EXPECT_EQ(HolderPod(), "ams-1");
}

TEST_F(ClusterElectorTest, AnExpiredLeaseOfADeadLeaderGoesToTheNextCandidateAsLeaseExpired) {
  ElectFirst();
  store_.SetUnavailable(true);
  clock_.Advance(seconds(60));
  PodNamed("ams-1").deletion_timestamp = "2026-01-01T00:02:00Z";
  Step();
  store_.SetUnavailable(false);
  ElectionOutcome o = Step();
  EXPECT_TRUE(o.transitioned);
  EXPECT_EQ(*o.reason, FailoverReason::kLeaseExpired);
  EXPECT_EQ(o.leader->name, "ams-2");
}

TEST_F(ClusterElectorTest, ARenewConflictRoutesNowhereNewAndTheNextStepRereadsTheRow) {
  ElectFirst();
  clock_.Advance(cluster_.heartbeat_interval);
  // Another writer renews between the elector's read and its renew.
  class Racing : public FakeLeaseStore {
   public:
    using FakeLeaseStore::FakeLeaseStore;
    StatusOr<LeaseRecord> Renew(const LeaseKey& k, const std::string& id, int32_t v,
                                milliseconds ttl) override {
      if (race_once) {
        race_once = false;
        FakeLeaseStore::Renew(k, id, v, ttl);
      }
      return FakeLeaseStore::Renew(k, id, v, ttl);
    }
    bool race_once = true;
  };
  Racing racing(&clock_);
  racing.Put(elector_->key(), HolderFor(PodNamed("ams-1"), cluster_), cluster_.lease_ttl);
  ClusterElector elector(cluster_, &racing, &clock_, &health_);
  ElectionOutcome o = elector.Step(pods_);
  EXPECT_EQ(o.renew, RenewResult::kConflict);
  EXPECT_EQ(o.routing, Routing::kKeep);
  EXPECT_FALSE(o.leader.has_value());
  ElectionOutcome next = elector.Step(pods_);
  EXPECT_EQ(next.renew, RenewResult::kOk) << "reads the new version, then renews it";
  EXPECT_EQ(next.leader->name, "ams-1");
}

TEST_F(ClusterElectorTest, AHandOverThatLosesARaceChangesNothingAndReportsConflict) {
  ElectFirst();
  PodNamed("ams-1").deletion_timestamp = "2026-01-01T00:01:00Z";
  health_.ObservePods(pods_);
  // Between the elector's read and its hand-over, another writer moves the row.
  class Racing : public FakeLeaseStore {
   public:
    using FakeLeaseStore::FakeLeaseStore;
    StatusOr<LeaseRecord> HandOver(const LeaseKey& k, const std::string& from, int32_t v,
                                   const LeaseHolder& to, milliseconds ttl) override {
      return FakeLeaseStore::HandOver(k, from, v - 1, to, ttl);
    }
  };
  Racing racing(&clock_);
  racing.Put(elector_->key(), HolderFor(PodNamed("ams-1"), cluster_), cluster_.lease_ttl);
  ClusterElector elector(cluster_, &racing, &clock_, &health_);
  ElectionOutcome o = elector.Step(pods_);
  EXPECT_TRUE(o.status.IsConflict());
  EXPECT_FALSE(o.transitioned);
  EXPECT_EQ(o.routing, Routing::kKeep);
}

}  // namespace
}  // namespace amsha
