// End-to-end, the controller's side of issue 10 with AMS under the gate and
// the shipped timing (controller lease 15s/10s/2s, leaseTtl 30s, heartbeat
// 10s, notReadyGracePeriod 5s, probe every 2s with timeout 1s and threshold
// 3, startupGracePeriod 5m, gate stopGracePeriod 30s, pollInterval 2s,
// rowTtl 8s): real PostgreSQL, the API stand-in with its kubelet stand-in,
// two controller processes, three gates running a JVM-like fake AMS (opens
// its port 8 s after it starts, takes 1.5 s to stop). Every test ends by
// checking the fake-ams journals: never two AMS at once.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "support/e2e_cluster.h"
#include "support/gated_pods.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

const std::vector<std::string> kJvmLikeAms = {"--start-delay", "8s", "--stop-delay", "1.5s"};

class ControllerGateRulesTest : public ::testing::Test {
 protected:
  // `ams_args`: extra fake-ams flags; `serve_timeout`: how long the first
  // leader may take to answer through ams-leader.
  void StartCluster(std::vector<std::string> ams_args, milliseconds serve_timeout, int pods = 3,
                    int controller_rest_port = 0) {
    E2eOptions options = E2eOptions::ShippedTimingUnderTheGate();
    options.pods = pods;
    options.controller_rest_port = controller_rest_port;
    options.pod_ip_base = 100 + 3 * ((::getpid() + 25) % 50);
    cluster_ = std::make_unique<E2eCluster>(options);
    Status s = cluster_->Start(/*wait_for_leader=*/false);
    ASSERT_TRUE(s.ok()) << s.ToString();
    GatedPodsOptions gate;
    gate.stop_grace = "30s";
    gate.poll_interval = "2s";
    gate.ams_args = std::move(ams_args);
    pods_ = std::make_unique<GatedPods>(cluster_.get(), gate);
    s = pods_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(cluster_->StartController(i).ok());
    ASSERT_TRUE(E2eCluster::WaitUntil([&] { return !Leader().empty(); }, seconds(20)));
    first_leader_ = Leader();
    ExpectServing(serve_timeout);
  }

  void TearDown() override {
    if (!cluster_) return;
    if (pods_) {
      AmsJournal journal = pods_->Journal();
      EXPECT_EQ(journal.FirstOverlap(), "") << "two AMS processes were active at once";
      EXPECT_EQ(journal.malformed(), "");
    }
    EXPECT_LE(cluster_->MaxSelectedEver(), 1) << "the Service selected two pods at once";
    if (HasFailure()) std::cerr << cluster_->Logs() << (pods_ ? pods_->Logs() : "");
    pods_.reset();
    cluster_.reset();
  }

  std::string Leader() { return cluster_->LeaseHolderPod(); }
  static int IndexOf(const std::string& pod) { return std::stoi(pod.substr(pod.find('-') + 1)); }
  // Waits up to 3 s for the controllers to log `needle` (the lease moves
  // in the database before the decision is logged).
  int CountEventually(const std::string& needle) {
    E2eCluster::WaitUntil([&] { return Count(needle) > 0; }, seconds(3));
    return Count(needle);
  }
  int Count(const std::string& needle) {
    std::string logs = cluster_->Logs();
    int n = 0;
    for (size_t at = logs.find(needle); at != std::string::npos; at = logs.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }
  // Exactly the lease holder runs AMS, is routed, and answers through
  // ams-leader.
  void ExpectServing(milliseconds timeout) {
    bool serving = E2eCluster::WaitUntil(
        [&] {
          std::string leader = Leader();
          return !leader.empty() && cluster_->Agrees() &&
                 pods_->Journal().Active() == std::vector<std::string>{leader} &&
                 cluster_->AskThroughService() == leader;
        },
        timeout);
    ASSERT_TRUE(serving) << "leader " << Leader() << ", AMS active on "
                         << ::testing::PrintToString(pods_->Journal().Active()) << ", routed "
                         << ::testing::PrintToString(cluster_->Routed());
  }
  // Seconds until the lease names a pod other than `old`; -1 on timeout.
  double SecondsUntilMovedFrom(const std::string& old, milliseconds timeout) {
    auto t0 = SteadyClock::now();
    bool moved = E2eCluster::WaitUntil(
        [&] {
          std::string now = Leader();
          return !now.empty() && now != old;
        },
        timeout);
    if (!moved) return -1;
    return std::chrono::duration<double>(SteadyClock::now() - t0).count();
  }

  std::unique_ptr<E2eCluster> cluster_;
  std::unique_ptr<GatedPods> pods_;
  std::string first_leader_;
};

// Issue 10 (1): with the shipped defaults a new leader whose AMS takes 8 s
// to open its port is not failed over while it starts: neither the first
// one, nor the successor of a deleted leader (which also waits for the old
// AMS to stop).
TEST_F(ControllerGateRulesTest, ANewLeaderWhoseAmsTakes8sToStartIsNotFailedOver) {
  StartCluster(kJvmLikeAms, seconds(30));
  EXPECT_EQ(Leader(), first_leader_) << "the first leader was failed over while it started";
  const std::string old = Leader();
  cluster_->DeletePod(IndexOf(old), /*grace_seconds=*/30);
  ASSERT_GE(SecondsUntilMovedFrom(old, seconds(10)), 0);
  const std::string next = Leader();
  ExpectServing(seconds(30));
  std::this_thread::sleep_for(seconds(4));
  EXPECT_EQ(Leader(), next);
  EXPECT_EQ(Count("reason=probe_failed"), 0);
  EXPECT_EQ(Count("reason=gate_lost"), 0);
  EXPECT_EQ(Count("leader elected"), 2) << "the first election and the deletion, nothing else";
}

// ... and one whose AMS takes 60 s (well past the probe window, far short
// of startupGracePeriod). Costs ~70 s.
TEST_F(ControllerGateRulesTest, ANewLeaderWhoseAmsTakes60sToStartIsNotFailedOver) {
  StartCluster({"--start-delay", "60s", "--stop-delay", "1.5s"}, seconds(90));
  EXPECT_EQ(Leader(), first_leader_);
  EXPECT_EQ(Count("leader elected"), 1) << "no failover while AMS started";
}

// A leader that dies after it served is failed over within the probe
// window: its AMS process is killed (an OOM kill of the JVM) while the pod
// stays Ready. Its gate sees AMS exit and gives its row up; the controller
// fails the leader over on the lapsed row, or on its failed probes.
TEST_F(ControllerGateRulesTest, ALeaderThatDiesAfterServingIsFailedOverWithinTheProbeWindow) {
  StartCluster(kJvmLikeAms, seconds(30));
  const std::string old = Leader();
  std::this_thread::sleep_for(seconds(3));  // well after it served
  pid_t ams = pods_->AmsPid(IndexOf(old));
  ASSERT_GT(ams, 0);
  ASSERT_EQ(::kill(ams, SIGKILL), 0);
  double took = SecondsUntilMovedFrom(old, seconds(30));
  ASSERT_GE(took, 0) << "never failed over";
  std::cerr << "killed AMS of " << old << " -> lease moved after " << took << " s\n";
  // probe.period 2s x failureThreshold 3, plus a pass.
  EXPECT_LE(took, 7.0);
  ExpectServing(seconds(45));
}

// The leader's node is cut off from the database (its gate cannot renew
// its row), while the pod stays Ready and its AMS keeps answering the
// controller: the gate's fence kills AMS before the row can lapse, and the
// controller fails the leader over when the row lapses (gate.rowTtl, 8 s
// after the gate's last renewal), not after a lease ttl.
TEST_F(ControllerGateRulesTest, ALeaderCutOffFromTheDatabaseMovesWhenItsGateRowLapses) {
  StartCluster({}, seconds(20));
  const std::string old = Leader();
  pods_->Partition(IndexOf(old), true);
  double took = SecondsUntilMovedFrom(old, seconds(40));
  ASSERT_GE(took, 0) << "never failed over";
  std::cerr << "database partition of " << old << " -> lease moved after " << took << " s\n";
  EXPECT_LE(took, 8 + 2.0) << "gate.rowTtl + a pass";
  EXPECT_GE(CountEventually("reason=gate_lost"), 1);
  ExpectServing(seconds(20));
  pods_->Partition(IndexOf(old), false);
}

// Issue 10 (4), "stuck with no leader": the only pod's AMS crashes, its
// gate exits and is restarted (the pod is NotReady meanwhile), the lease
// leaves it; once Ready again it is elected again and serves within
// leaseTtl + 2 x heartbeat + AMS start.
TEST_F(ControllerGateRulesTest, TheOnlyCandidateServesAgainAfterItsAmsCrashes) {
  StartCluster(kJvmLikeAms, seconds(30), /*pods=*/1);
  ASSERT_EQ(Leader(), "ams-0");
  pid_t ams = pods_->AmsPid(0);
  ASSERT_GT(ams, 0);
  ASSERT_EQ(::kill(ams, SIGKILL), 0);
  // Until its AMS is gone by the journal, then until it serves again.
  ASSERT_TRUE(E2eCluster::WaitUntil([&] { return pods_->Journal().Active().empty(); }, seconds(5)));
  const auto crashed = SteadyClock::now();
  ExpectServing(seconds(30 + 2 * 10 + 8 + 5));
  std::cerr << "sole candidate serving again "
            << std::chrono::duration<double>(SteadyClock::now() - crashed).count()
            << " s after its AMS crashed\n";
  EXPECT_EQ(Leader(), "ams-0");
}

// Issue 10 (5), one-sided probe: the controller cannot reach any AMS port
// (here: it probes a port nothing listens on, as a NetworkPolicy or its own
// node would make it), while every gate probes its AMS from inside the pod.
// The healthy leader is kept and the condition reported once; a leader
// whose node is then lost (its gate cut off from the database) is still
// failed over, within rowTtl + the probe window.
TEST_F(ControllerGateRulesTest, AControllerCutOffFromAHealthyLeaderKeepsItButNodeLossFailsOver) {
  StartCluster(kJvmLikeAms, seconds(30), /*pods=*/3, /*controller_rest_port=*/1639);
  const std::string leader = Leader();
  std::this_thread::sleep_for(seconds(20));
  EXPECT_EQ(Leader(), leader) << "a healthy leader was failed over by a one-sided probe";
  EXPECT_EQ(Count("leader elected"), 1);
  EXPECT_EQ(Count("controller cannot reach a leader its gate reports healthy"), 1)
      << "reported once, by the active controller";
  pods_->LoseNode(IndexOf(leader), true);
  double took = SecondsUntilMovedFrom(leader, seconds(40));
  ASSERT_GE(took, 0) << "a lost node was never failed over";
  std::cerr << "lost node of " << leader << " -> lease moved after " << took << " s\n";
  EXPECT_LE(took, 8 + 6 + 3.0) << "rowTtl 8s + window 6s + a pass and a renewal";
  // Its probe failures count as soon as no live gate vouches for it.
  EXPECT_GE(CountEventually("reason=gate_lost") + Count("reason=probe_failed"), 1);
  // The old AMS is fenced by its own gate's kill deadline before the next
  // one starts (the journal check in TearDown).
  ExpectServing(seconds(45));
  pods_->LoseNode(IndexOf(leader), false);
}

}  // namespace
}  // namespace amsha::testing
