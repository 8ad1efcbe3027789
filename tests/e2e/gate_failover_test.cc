// End-to-end with the gate: real PostgreSQL, the Kubernetes API stand-in, two
// controller processes and three AMS pods, each running
// `ams-ha-controller gate ... -- fake-ams ...` (tests/support/gated_pods.h).
// Pod readiness comes from each gate's /readyz, mirrored into the stand-in
// by a kubelet stand-in, because that is what the chart's readinessProbe
// does; a scenario that needs a NotReady pod forces it, as a failing node
// condition would. Every fake-ams journals when it is active.
//
// Each test ends by checking, from the journal, that no two AMS processes
// were ever active at the same instant and, from the stand-in's record,
// that the Service never selected two pods; each scenario ends with exactly
// the elected pod running AMS and answering through the Service.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "support/e2e_cluster.h"
#include "support/gated_pods.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class GateE2eTest : public ::testing::Test {
 protected:
  void StartCluster(GatedPodsOptions gate_options = {}, std::string startup_grace = "") {
    E2eOptions options;
    options.start_ams = false;
    options.controllers = 0;
    // Empty: the shipped default. The probe of a leader whose AMS has not
    // answered yet does not count (docs/gate.md).
    options.probe_startup_grace = startup_grace;
    // Pod IPs of their own (127.0.0.100-249), picked per process: another
    // build's run of this same test on a shared machine then rarely
    // collides with this one on the pods' ports.
    options.pod_ip_base = 100 + 3 * (::getpid() % 50);
    cluster_ = std::make_unique<E2eCluster>(options);
    Status s = cluster_->Start(/*wait_for_leader=*/false);
    ASSERT_TRUE(s.ok()) << s.ToString();
    pods_ = std::make_unique<GatedPods>(cluster_.get(), gate_options);
    s = pods_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(cluster_->StartController(i).ok());
    ExpectExactlyTheElectedPodRunsAms(seconds(20));
    elected_at_ = std::chrono::steady_clock::now();
  }

  void TearDown() override {
    if (!cluster_) return;
    if (pods_) {
      AmsJournal journal = pods_->Journal();
      EXPECT_EQ(journal.FirstOverlap(), "") << "two AMS processes were active at once";
      EXPECT_EQ(journal.malformed(), "");
    }
    EXPECT_LE(cluster_->MaxSelectedEver(), 1) << "the Service selected two pods at once";
    if (HasFailure()) {
      std::cerr << cluster_->Logs() << (pods_ ? pods_->Logs() : "");
    }
    pods_.reset();
    cluster_.reset();
  }

  std::string Leader() { return cluster_->LeaseHolderPod(); }
  static int IndexOf(const std::string& pod) { return std::stoi(pod.substr(pod.find('-') + 1)); }

  // The lease names one pod, the Service routes exactly it, exactly it runs
  // AMS, and a client connecting through the Service reaches that AMS.
  void ExpectExactlyTheElectedPodRunsAms(milliseconds timeout) {
    bool settled = E2eCluster::WaitUntil(
        [&] {
          std::string leader = Leader();
          return !leader.empty() && cluster_->Agrees() &&
                 pods_->Journal().Active() == std::vector<std::string>{leader};
        },
        timeout);
    ASSERT_TRUE(settled) << "leader " << Leader() << ", AMS active on "
                         << ::testing::PrintToString(pods_->Journal().Active()) << ", routed "
                         << ::testing::PrintToString(cluster_->Routed());
    std::string leader = Leader();
    EXPECT_TRUE(
        E2eCluster::WaitUntil([&] { return cluster_->AskThroughService() == leader; }, seconds(3)))
        << "a client through ams-leader reaches " << leader;
  }

  // Moves the lease away from `old` by `act`, then expects the new leader
  // alone to run AMS.
  std::string FailOverFrom(const std::string& old, milliseconds timeout) {
    bool moved = E2eCluster::WaitUntil(
        [&] {
          std::string now = Leader();
          return !now.empty() && now != old;
        },
        timeout);
    EXPECT_TRUE(moved) << "the lease never left " << old;
    ExpectExactlyTheElectedPodRunsAms(timeout);
    return Leader();
  }

  std::unique_ptr<E2eCluster> cluster_;
  std::unique_ptr<GatedPods> pods_;
  std::chrono::steady_clock::time_point elected_at_;
};

TEST_F(GateE2eTest, OnlyTheElectedPodRunsAmsAndFollowersSayWhatTheyWaitFor) {
  StartCluster();
  std::string leader = Leader();
  for (int i = 0; i < 3; ++i) {
    std::string log = pods_->GateLog(i);
    if (E2eCluster::PodName(i) == leader) {
      EXPECT_NE(log.find("leader: starting AMS"), std::string::npos) << log;
    } else {
      EXPECT_NE(log.find("follower: lease held by"), std::string::npos) << log;
      EXPECT_EQ(log.find("AMS started"), std::string::npos) << log;
    }
  }
  for (const auto& [name, state] : cluster_->PodStates()) {
    EXPECT_TRUE(state.ready) << name << ": followers are Ready through their gate";
  }
}

TEST_F(GateE2eTest, DeletingTheLeaderPodMovesAmsWithoutOverlap) {
  StartCluster();
  std::string old = Leader();
  cluster_->DeletePod(IndexOf(old), /*grace_seconds=*/5);
  FailOverFrom(old, seconds(15));
  // Whichever came first, the kubelet's SIGTERM or the controller's
  // hand-over, the old gate stopped its AMS before giving the row up.
  std::string log = pods_->GateLog(IndexOf(old));
  EXPECT_TRUE(log.find("passing SIGTERM to AMS") != std::string::npos ||
              log.find("lease moved to") != std::string::npos)
      << log;
  EXPECT_NE(log.find("gate row released"), std::string::npos) << log;
}

TEST_F(GateE2eTest, DeletingAFollowerPodPassesSigtermAndTheGateExitsCleanly) {
  StartCluster();
  std::string leader = Leader();
  int follower = IndexOf(leader) == 2 ? 0 : 2;
  cluster_->DeletePod(follower, /*grace_seconds=*/5);
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] { return pods_->GateLog(follower).find("gate exiting") != std::string::npos; },
      seconds(5)));
  EXPECT_NE(pods_->GateLog(follower).find("gate exiting cluster=prod code=0"), std::string::npos)
      << pods_->GateLog(follower);
  ExpectExactlyTheElectedPodRunsAms(seconds(5));
  EXPECT_EQ(Leader(), leader);
}

TEST_F(GateE2eTest, ALeaderNotReadyIsFailedOverAndItsGateStopsAmsAndRestartsAsAFollower) {
  StartCluster();
  std::string old = Leader();
  pods_->ForceNotReady(IndexOf(old), true);
  std::string next = FailOverFrom(old, seconds(15));
  std::string log = pods_->GateLog(IndexOf(old));
  EXPECT_NE(log.find("lease moved to"), std::string::npos) << log;
  EXPECT_NE(log.find("gate exiting cluster=prod code=3"), std::string::npos) << log;
  EXPECT_TRUE(
      E2eCluster::WaitUntil([&] { return pods_->GateRestarts(IndexOf(old)) >= 1; }, seconds(5)));
  pods_->ForceNotReady(IndexOf(old), false);
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(Leader(), next) << "no preemption when the old leader is back";
  ExpectExactlyTheElectedPodRunsAms(seconds(5));
}

TEST_F(GateE2eTest, ALostNodeIsFailedOverByTheProbeAndFencedBeforeTheNextAmsStarts) {
  StartCluster();
  std::string old = Leader();
  // Let the new leader's startup grace run out, so that the probe counts.
  std::this_thread::sleep_until(elected_at_ + seconds(12));
  pods_->LoseNode(IndexOf(old), true);
  ASSERT_TRUE(pods_->HangAms(IndexOf(old)).ok());
  std::string next = FailOverFrom(old, seconds(30));
  // The old AMS stopped on its own gate's deadline, with no word from the
  // database, and before the next one started (checked in TearDown).
  std::string log = pods_->GateLog(IndexOf(old));
  EXPECT_NE(log.find("could not be renewed before it might expire: SIGKILL to AMS"),
            std::string::npos)
      << log;
  EXPECT_NE(cluster_->Logs().find("reason=probe_failed"), std::string::npos);
  pods_->LoseNode(IndexOf(old), false);
  std::this_thread::sleep_for(seconds(2));
  ExpectExactlyTheElectedPodRunsAms(seconds(10));
  EXPECT_EQ(Leader(), next);
}

TEST_F(GateE2eTest, KillingTheActiveControllerMovesNoAms) {
  StartCluster();
  std::string leader = Leader();
  size_t intervals = pods_->Journal().intervals().size();
  std::string active = cluster_->ActiveController();
  ASSERT_FALSE(active.empty());
  cluster_->KillController(active == "ctl-0" ? 0 : 1, SIGKILL);
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] {
        std::string now = cluster_->ActiveController();
        return !now.empty() && now != active;
      },
      seconds(10)));
  std::this_thread::sleep_for(seconds(3));
  ExpectExactlyTheElectedPodRunsAms(seconds(5));
  EXPECT_EQ(Leader(), leader);
  EXPECT_EQ(pods_->Journal().intervals().size(), intervals)
      << "AMS was neither stopped nor started";
}

TEST_F(GateE2eTest, AShortDatabaseRestartKeepsAmsAndALongOutageFencesIt) {
  StartCluster();
  std::string leader = Leader();
  size_t intervals = pods_->Journal().intervals().size();
  ASSERT_TRUE(cluster_->postgres().Stop().ok());
  std::this_thread::sleep_for(seconds(2));
  ASSERT_TRUE(cluster_->postgres().Start().ok());
  std::this_thread::sleep_for(seconds(3));
  ExpectExactlyTheElectedPodRunsAms(seconds(10));
  EXPECT_EQ(Leader(), leader);
  EXPECT_EQ(pods_->Journal().intervals().size(), intervals) << "a 2 s restart stops no AMS";

  // Longer than the lease could last: the gate fences, the controller keeps
  // routing (availability is the controller's side, safety the gate's).
  ASSERT_TRUE(cluster_->postgres().Stop().ok());
  EXPECT_TRUE(E2eCluster::WaitUntil([&] { return pods_->Journal().Active().empty(); }, seconds(12)))
      << "the gate stopped AMS once its lease could have expired";
  EXPECT_EQ(cluster_->Routed(), std::vector<std::string>{leader}) << "routing kept meanwhile";
  ASSERT_TRUE(cluster_->postgres().Start().ok());
  ExpectExactlyTheElectedPodRunsAms(seconds(30));
}

TEST_F(GateE2eTest, ASwitchoverMovesAmsToTheNamedPod) {
  StartCluster();
  std::string old = Leader();
  std::string target = old == "ams-2" ? "ams-0" : "ams-2";
  std::string out;
  int code =
      cluster_->RunCli("switchover", "--cluster prod --to " + target + " --timeout 10s", &out);
  EXPECT_EQ(code, 0) << out;
  ExpectExactlyTheElectedPodRunsAms(seconds(10));
  EXPECT_EQ(Leader(), target);
}

TEST_F(GateE2eTest, WithoutListenTheGateStillFollowsTheLeaseByPolling) {
  GatedPodsOptions options;
  options.listen = false;
  StartCluster(options);
  std::string old = Leader();
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(pods_->GateLog(i).find("notify=\"off (polling only)\""), std::string::npos);
  }
  pods_->ForceNotReady(IndexOf(old), true);
  FailOverFrom(old, seconds(15));
}

}  // namespace
}  // namespace amsha::testing
