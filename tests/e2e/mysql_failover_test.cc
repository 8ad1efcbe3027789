// End-to-end on MariaDB instead of PostgreSQL (E2eOptions::engine "mysql"):
// the same controller and gate processes, the Kubernetes API stand-in, and
// a throwaway MariaDB holding ha_lease. One controller failover scenario,
// one controller takeover, and gate scenarios, where the gates have no
// LISTEN/NOTIFY and follow the lease by polling (gate.pollInterval).
// Every test ends by checking that the Service never selected two pods
// and, with gates, that no two AMS processes were ever active at once.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "support/e2e_cluster.h"
#include "support/gated_pods.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int IndexOf(const std::string& pod) { return std::stoi(pod.substr(pod.find('-') + 1)); }

class MysqlE2eTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!cluster_) return;
    if (pods_) {
      AmsJournal journal = pods_->Journal();
      EXPECT_EQ(journal.FirstOverlap(), "") << "two AMS processes were active at once";
      EXPECT_EQ(journal.malformed(), "");
    }
    int max_selected = cluster_->MaxSelectedEver();
    EXPECT_GE(max_selected, 0) << "the stand-in's selector record is unreadable";
    EXPECT_LE(max_selected, 1) << "the Service selected two pods at once";
    if (HasFailure()) std::cerr << cluster_->Logs() << (pods_ ? pods_->Logs() : "");
    pods_.reset();
    cluster_.reset();
  }

  static E2eOptions OnMariaDb() {
    E2eOptions options;
    options.engine = "mysql";
    options.pod_ip_base = 100 + 3 * (::getpid() % 50);
    return options;
  }

  std::string Leader() { return cluster_->LeaseHolderPod(); }

  bool WaitForNewLeader(const std::string& old, milliseconds timeout) {
    return E2eCluster::WaitUntil(
        [&] {
          std::string now = Leader();
          return !now.empty() && now != old && cluster_->Agrees();
        },
        timeout);
  }

  void StartGated() {
    E2eOptions options = OnMariaDb();
    options.start_ams = false;
    options.controllers = 0;
    // Empty: the shipped default, as gate_failover_test.cc runs it.
    options.probe_startup_grace = "";
    cluster_ = std::make_unique<E2eCluster>(options);
    Status s = cluster_->Start(/*wait_for_leader=*/false);
    ASSERT_TRUE(s.ok()) << s.ToString();
    pods_ = std::make_unique<GatedPods>(cluster_.get());
    s = pods_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(cluster_->StartController(i).ok());
    ExpectExactlyTheElectedPodRunsAms(seconds(20));
  }

  void ExpectExactlyTheElectedPodRunsAms(milliseconds timeout) {
    bool settled = E2eCluster::WaitUntil(
        [&] {
          std::string leader = Leader();
          return !leader.empty() && cluster_->Agrees() &&
                 pods_->Journal().Active() == std::vector<std::string>{leader};
        },
        timeout);
    ASSERT_TRUE(settled) << "leader " << Leader() << ", AMS active on "
                         << ::testing::PrintToString(pods_->Journal().Active());
    std::string leader = Leader();
    EXPECT_TRUE(
        E2eCluster::WaitUntil([&] { return cluster_->AskThroughService() == leader; }, seconds(3)))
        << "a client through ams-leader reaches " << leader;
  }

  std::unique_ptr<E2eCluster> cluster_;
  std::unique_ptr<GatedPods> pods_;
};

TEST_F(MysqlE2eTest, DeletingTheLeaderPodFailsOverToAnotherPod) {
  cluster_ = std::make_unique<E2eCluster>(OnMariaDb());
  Status s = cluster_->Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(cluster_->Agrees());
  std::string old = Leader();
  cluster_->DeletePod(IndexOf(old), /*grace_seconds=*/2);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitForNewLeader(old, seconds(5)));
  std::printf("MariaDB: leader pod deleted, new leader routed after %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start)
                      .count()));
  EXPECT_EQ(cluster_->AskThroughService(), Leader());
}

TEST_F(MysqlE2eTest, KillingTheActiveControllerLetsTheStandbyTakeOverWithoutAnAmsFailover) {
  cluster_ = std::make_unique<E2eCluster>(OnMariaDb());
  Status s = cluster_->Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string leader = Leader();
  std::string active;
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] { return !(active = cluster_->ActiveController()).empty(); }, seconds(5)));
  int index = active == "ctl-0" ? 0 : 1;
  cluster_->KillController(index, SIGKILL);
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] {
        std::string now = cluster_->ActiveController();
        return !now.empty() && now != active;
      },
      seconds(10)))
      << "the standby never took over";
  EXPECT_EQ(Leader(), leader) << "the AMS lease stayed where it was";
  EXPECT_TRUE(cluster_->Agrees());
}

TEST_F(MysqlE2eTest, GatesPollTheLeaseAndOnlyTheElectedPodRunsAms) {
  ASSERT_NO_FATAL_FAILURE(StartGated());
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(pods_->GateLog(i).find("MySQL has no LISTEN; polling only"), std::string::npos)
        << pods_->GateLog(i);
  }
}

TEST_F(MysqlE2eTest, DeletingTheLeaderPodMovesAmsWithoutOverlap) {
  ASSERT_NO_FATAL_FAILURE(StartGated());
  std::string old = Leader();
  cluster_->DeletePod(IndexOf(old), /*grace_seconds=*/5);
  bool moved = E2eCluster::WaitUntil(
      [&] {
        std::string now = Leader();
        return !now.empty() && now != old;
      },
      seconds(15));
  ASSERT_TRUE(moved) << "the lease never left " << old;
  ExpectExactlyTheElectedPodRunsAms(seconds(15));
  EXPECT_NE(pods_->GateLog(IndexOf(old)).find("gate row released"), std::string::npos)
      << pods_->GateLog(IndexOf(old));
}

}  // namespace
}  // namespace amsha::testing
