// ClusterElector with the gate row (cluster, AMS_GATE): the controller reads
// what the leader's gate reports about its AMS (docs/gate.md, "What the
// controller reads from the gate row") instead of a fixed startup grace.
// Shipped defaults (probe every 2s, threshold 3, startupGracePeriod 5m),
// a fake clock stepped every 500 ms as the cluster loop would, and gate rows
// shaped by the contract, written as a gate would write them.
#include <gtest/gtest.h>

#include <functional>

#include "election/cluster_elector.h"
#include "election/gate_report.h"
#include "election/pod_identity.h"
#include "gate/ams_gate.h"
#include "support/fake_lease_store.h"
#include "support/pod_builder.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;
using testing::PodBuilder;

constexpr milliseconds kTick{500};
constexpr milliseconds kGateTtl{8000};  // gate.rowTtl, renewed every tick

class ClusterElectorGateTest : public ::testing::Test {
 public:
  ClusterElectorGateTest() : store_(&clock_), health_(&clock_) {
    cluster_.name = "prod";
    cluster_.pod_selector = "app=amoro";
    elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
    pods_ = {PodBuilder("ams-0").ReadySince("2026-01-01T00:00:01Z"),
             PodBuilder("ams-1").ReadySince("2026-01-01T00:00:02Z"),
             PodBuilder("ams-2").ReadySince("2026-01-01T00:00:03Z")};
  }

  const Pod& PodNamed(const std::string& name) const {
    for (const Pod& p : pods_) {
      if (p.name == name) return p;
    }
    throw std::runtime_error("no pod " + name);
  }
  // The gate of `pod` writes its row: `ams` as in the contract.
  void GateWrites(const std::string& pod, const std::string& ams, int64_t started_at_ms = 1,
                  milliseconds ttl = kGateTtl) {
    const Pod& p = PodNamed(pod);
    std::string json = R"({"pod":")" + p.name + R"(","podUid":")" + p.uid + R"(","ams":")" + ams +
                       R"(","amsStartedAtMs":)" + std::to_string(started_at_ms) +
                       R"(,"servingSinceMs":0})";
    store_.Put({"prod", kGateServiceName}, {HolderFor(p, cluster_).node_id, p.pod_ip, json}, ttl);
  }
  std::string HolderPod() {
    auto row = store_.Row(elector_->key());
    if (!row || !row->node_id || row->Expired()) return "";
    for (const Pod& p : pods_) {
      if (UidFromNodeId(*row->node_id) == p.uid) return p.name;
    }
    return "?";
  }
  ElectionOutcome Step() {
    health_.ObservePods(pods_);
    return elector_->Step(pods_);
  }
  // Runs the loop for `d`: every tick `world` acts (the gate writes, the
  // AMS answers or not), the leader is probed every probe.period with
  // `probe_ok`, and the elector steps. Returns the time of the first
  // transition away from the leader at the start, or nullopt.
  std::optional<milliseconds> Run(milliseconds d, const std::function<void(milliseconds)>& world,
                                  const std::function<bool(milliseconds)>& probe_ok) {
    const std::string leader = HolderPod();
    for (milliseconds t(0); t < d; t += kTick) {
      clock_.Advance(kTick);
      if (world) world(t + kTick);
      if ((t + kTick) % cluster_.probe.period == milliseconds(0) && !leader.empty()) {
        health_.RecordProbe(PodNamed(leader).uid, probe_ok(t + kTick));
      }
      ElectionOutcome o = Step();
      last_ = o;
      if (o.transitioned) return t + kTick;
    }
    return std::nullopt;
  }
  // Elects ams-0 (Ready longest); its gate takes the row and its AMS serves.
  void ElectServingLeader() {
    ASSERT_EQ(Step().leader->name, "ams-0");
    GateWrites("ams-0", "serving");
    auto moved = Run(
        seconds(4), [&](milliseconds) { GateWrites("ams-0", "serving"); },
        [](milliseconds) { return true; });
    ASSERT_FALSE(moved.has_value());
    ASSERT_TRUE(health_.Served(PodNamed("ams-0").uid));
  }
  milliseconds ProbeWindow() const {
    return cluster_.probe.period * cluster_.probe.failure_threshold;
  }

  FakeClock clock_;
  FakeLeaseStore store_;
  HealthTracker health_;
  ClusterConfig cluster_;
  std::unique_ptr<ClusterElector> elector_;
  std::vector<Pod> pods_;
  ElectionOutcome last_;
};

// "Settles with defaults": the new leader waits for the previous AMS to stop
// (the row held by the old pod's live gate), then its own AMS takes
// `start` to open its port. Nothing fails it over meanwhile.
class SettlesWithDefaultsTest : public ClusterElectorGateTest,
                                public ::testing::WithParamInterface<int> {};

TEST_P(SettlesWithDefaultsTest, ANewLeaderIsNotFailedOverWhileItsAmsStarts) {
  const seconds start(GetParam());
  ElectServingLeader();
  pods_[0].deletion_timestamp = "2026-01-01T00:05:00Z";  // graceful delete of ams-0
  ElectionOutcome handed = Step();
  ASSERT_TRUE(handed.transitioned);
  ASSERT_EQ(HolderPod(), "ams-1");
  // ams-0's gate stops its AMS for 5 s (holding the row), then releases it;
  // ams-1's gate takes it at once, starts AMS, which answers after `start`.
  const milliseconds stop(5000);
  auto moved = Run(
      stop + start + seconds(20),
      [&](milliseconds t) {
        if (t < stop) {
          GateWrites("ams-0", "stopping");
        } else if (t < stop + start) {
          GateWrites("ams-1", "starting");
        } else {
          GateWrites("ams-1", "serving");
        }
      },
      [&](milliseconds t) { return t >= stop + start; });
  EXPECT_FALSE(moved.has_value()) << "failed over while starting: " << last_.summary;
  EXPECT_EQ(HolderPod(), "ams-1");
  EXPECT_TRUE(health_.Served(PodNamed("ams-1").uid));
}

INSTANTIATE_TEST_SUITE_P(AmsStartSeconds, SettlesWithDefaultsTest, ::testing::Values(8, 60));

TEST_F(ClusterElectorGateTest, ALeaderThatDiesAfterServingIsFailedOverWithinTheProbeWindow) {
  ElectServingLeader();
  // AMS exits: the gate releases its row and exits; the pod still looks
  // Ready for a while. The probe fails from now on.
  store_.Put({"prod", kGateServiceName}, {HolderFor(PodNamed("ams-0"), cluster_).node_id, "", "{}"},
             milliseconds(0));
  auto moved = Run(seconds(30), nullptr, [](milliseconds) { return false; });
  ASSERT_TRUE(moved.has_value());
  EXPECT_LE(*moved, ProbeWindow() + kTick) << last_.summary;
  EXPECT_EQ(HolderPod(), "ams-1");
}

TEST_F(ClusterElectorGateTest, ACrashedLeaderIsFailedOverOnceItsGateRowLapses) {
  ElectServingLeader();
  // Every process of the pod is SIGKILLed: the gate row still says
  // "serving" until its short ttl runs out, and the probe fails.
  auto moved = Run(seconds(30), nullptr, [](milliseconds) { return false; });
  ASSERT_TRUE(moved.has_value());
  EXPECT_LE(*moved, std::max(ProbeWindow(), kGateTtl) + kTick) << last_.summary;
}

TEST_F(ClusterElectorGateTest, AControllerCutOffFromAHealthyLeaderDoesNotFailItOver) {
  ElectServingLeader();
  auto moved = Run(
      seconds(120), [&](milliseconds) { GateWrites("ams-0", "serving"); },
      [](milliseconds) { return false; });
  EXPECT_FALSE(moved.has_value()) << last_.summary;
  EXPECT_TRUE(last_.leader_unreachable);
  EXPECT_EQ(HolderPod(), "ams-0");
  EXPECT_GE(store_.CountCalls("Renew"), 10) << "the lease of the healthy leader is renewed";
  // The controller reaches it again: no longer reported.
  Run(
      seconds(3), [&](milliseconds) { GateWrites("ams-0", "serving"); },
      [](milliseconds) { return true; });
  EXPECT_FALSE(last_.leader_unreachable);
}

TEST_F(ClusterElectorGateTest, ALeaderWhoseGateStopsRenewingIsFailedOverWithinAboutTheWindow) {
  ElectServingLeader();
  // The gate is stopped (SIGSTOP) or its node is cut off from the
  // database; its AMS still answers the controller's probe.
  auto moved = Run(seconds(30), nullptr, [](milliseconds) { return true; });
  ASSERT_TRUE(moved.has_value());
  EXPECT_LE(*moved, kGateTtl + kTick) << "at once when its row lapses: " << last_.summary;
  EXPECT_EQ(*last_.reason, FailoverReason::kGateLost);
  EXPECT_EQ(HolderPod(), "ams-1");
}

TEST_F(ClusterElectorGateTest, ALapsedRowFailsOverALeaderThatIsNotReadyWithinItsGrace) {
  ElectServingLeader();
  // Cut off from the database: the gate's fence kills AMS, the gate's
  // readiness fails (NotReady, within notReadyGracePeriod), the row lapses.
  Run(kGateTtl - seconds(2), nullptr, [](milliseconds) { return true; });
  pods_[0].ready = false;
  auto moved = Run(seconds(4), nullptr, [](milliseconds) { return false; });
  ASSERT_TRUE(moved.has_value()) << "waited for the NotReady grace: " << last_.summary;
  EXPECT_LE(*moved, seconds(2) + kTick);
  EXPECT_EQ(*last_.reason, FailoverReason::kGateLost);
}

TEST_F(ClusterElectorGateTest, ASoleCandidateWhoseGateGaveItsRowUpIsNotBouncedInALoop) {
  pods_ = {pods_[0]};
  ElectServingLeader();
  // Its AMS crashes: the gate releases its row. Lost at once (gate_lost),
  // released (nobody else), and taken again for the same pod: a new term,
  // whose gate restarts and takes the row.
  store_.Put({"prod", kGateServiceName}, {HolderFor(PodNamed("ams-0"), cluster_).node_id, "", "{}"},
             milliseconds(0));
  int transitions = 0;
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(kTick);
    if (i >= 4) GateWrites("ams-0", i < 8 ? "starting" : "serving");
    if (Step().transitioned) ++transitions;
  }
  EXPECT_LE(transitions, 1) << "bounced: " << last_.summary;
  EXPECT_EQ(HolderPod(), "ams-0");
}

TEST_F(ClusterElectorGateTest, ADatabaseRestartShorterThanTheWindowIsNoDeadGate) {
  ElectServingLeader();
  // PostgreSQL restarts for 5 s: nobody reads or writes; the gate row
  // (rowTtl 8 s) outlasts it, and the gate renews within a tick after.
  store_.SetUnavailable(true);
  auto during = Run(seconds(5), nullptr, [](milliseconds) { return true; });
  EXPECT_FALSE(during.has_value());
  store_.SetUnavailable(false);
  int renewals = 0;
  auto after = Run(
      seconds(30),
      [&](milliseconds) {
        if (++renewals > 1) GateWrites("ams-0", "serving");  // one read sees it lapsed
      },
      [](milliseconds) { return true; });
  EXPECT_FALSE(after.has_value()) << last_.summary;
  EXPECT_EQ(HolderPod(), "ams-0");
}

TEST_F(ClusterElectorGateTest, AnOutageThatLetTheLeadersRowLapseFailsOverAtOnce) {
  ElectServingLeader();
  // Longer than rowTtl: the leader's gate fenced its AMS meanwhile.
  store_.SetUnavailable(true);
  Run(seconds(10), nullptr, [](milliseconds) { return false; });
  store_.SetUnavailable(false);
  auto moved = Run(seconds(5), nullptr, [](milliseconds) { return false; });
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(*moved, kTick) << "the first read after the outage";
  EXPECT_EQ(*last_.reason, FailoverReason::kGateLost);
}

TEST_F(ClusterElectorGateTest, AGateReportingItsAmsUnresponsiveIsFailedOver) {
  ElectServingLeader();
  auto moved = Run(
      seconds(30), [&](milliseconds) { GateWrites("ams-0", "unresponsive"); },
      [](milliseconds) { return false; });
  ASSERT_TRUE(moved.has_value());
  EXPECT_LE(*moved, ProbeWindow() + kTick);
  EXPECT_EQ(*last_.reason, FailoverReason::kProbeFailed);
}

TEST_F(ClusterElectorGateTest, AnAmsThatNeverServesIsFailedOverWhenTheStartAllowanceEnds) {
  ASSERT_EQ(Step().leader->name, "ams-0");
  auto moved = Run(
      cluster_.probe.startup_grace_period + seconds(30),
      [&](milliseconds) { GateWrites("ams-0", "starting"); }, [](milliseconds) { return false; });
  ASSERT_TRUE(moved.has_value());
  EXPECT_GE(*moved, cluster_.probe.startup_grace_period);
  EXPECT_LE(*moved, cluster_.probe.startup_grace_period + ProbeWindow() + seconds(2));
}

TEST_F(ClusterElectorGateTest, WithoutAGateFailuresCountFromTheFirstAnswerOfTheLeader) {
  // No AMS_GATE row: AMS is not under the gate (fallback).
  ASSERT_EQ(Step().leader->name, "ams-0");
  auto starting = Run(seconds(60), nullptr, [](milliseconds) { return false; });
  EXPECT_FALSE(starting.has_value()) << "not before its AMS first answered";
  Run(seconds(2), nullptr, [](milliseconds) { return true; });
  auto moved = Run(seconds(30), nullptr, [](milliseconds) { return false; });
  ASSERT_TRUE(moved.has_value());
  EXPECT_LE(*moved, ProbeWindow() + kTick);
}

TEST_F(ClusterElectorGateTest, AGateThatNeverTakesAFreeRowIsFailedOverWithinAboutTheWindow) {
  ASSERT_EQ(Step().leader->name, "ams-0");
  // An expired row of some earlier gate: ams-0's gate should take it at
  // once; it does not (dead gate).
  store_.Put({"prod", kGateServiceName}, {HolderFor(PodNamed("ams-2"), cluster_).node_id, "", "{}"},
             milliseconds(0));
  auto moved = Run(seconds(30), nullptr, [](milliseconds) { return false; });
  ASSERT_TRUE(moved.has_value());
  EXPECT_LE(*moved, ProbeWindow() + kTick) << "a gate that never shows up is dead";
}

TEST_F(ClusterElectorGateTest, ANewLeaderWhoseGateTakesTheFreeRowOnlyAtItsNextPollIsStarting) {
  ASSERT_EQ(Step().leader->name, "ams-0");
  // The previous leader's gate row has lapsed; ams-0's gate polls (MySQL:
  // no NOTIFY) and takes it a little later. The probe fails meanwhile, and
  // through the AMS start, until AMS serves at 40 s.
  store_.Put({"prod", kGateServiceName}, {HolderFor(PodNamed("ams-2"), cluster_).node_id, "", "{}"},
             milliseconds(0));
  const milliseconds gate_takes = cluster_.probe.period + kTick;
  auto moved = Run(
      seconds(80),
      [&](milliseconds t) {
        if (t >= gate_takes) GateWrites("ams-0", t < seconds(40) ? "starting" : "serving");
      },
      [](milliseconds t) { return t >= seconds(41); });
  EXPECT_FALSE(moved.has_value()) << last_.summary;
  EXPECT_EQ(HolderPod(), "ams-0") << "renewed through the start: " << last_.summary;
  EXPECT_EQ(last_.renew, RenewResult::kOk) << last_.summary;
}

TEST(GateReportTest, ReadsTheContractsKeysAndToleratesOthers) {
  GateReport r = ParseGateReport(
      R"({"pod":"ams-0","podUid":"u-1","ams":"serving","amsStartedAtMs":1700000000123,)"
      R"("servingSinceMs":1700000008000,"extra":{"x":1}})");
  EXPECT_EQ(r.pod, "ams-0");
  EXPECT_EQ(r.pod_uid, "u-1");
  EXPECT_EQ(r.ams, GateReport::Ams::kServing);
  EXPECT_EQ(r.ams_started_at_ms, 1700000000123);
  EXPECT_EQ(r.serving_since_ms, 1700000008000);
  EXPECT_EQ(ParseGateReport(R"({ "ams" : "starting" })").ams, GateReport::Ams::kStarting);
  EXPECT_EQ(ParseGateReport(R"({"pod":"ams-0"})").ams, GateReport::Ams::kUnknown);
  EXPECT_EQ(ParseGateReport("not json").ams, GateReport::Ams::kUnknown);
}

}  // namespace
}  // namespace amsha
