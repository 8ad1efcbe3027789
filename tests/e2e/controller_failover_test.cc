// End-to-end: a real lease database + the Kubernetes API stand-in + two
// controller processes + three simulated AMS pods. Every test ends by
// asserting, from the stand-in's record, that the Service never selected two
// pods, and that the lease row and the routing agree.
//
// ControllerE2eTest runs each scenario on PostgreSQL and on MariaDB
// (E2eOptions::engine): those whose outcome goes through the database (the
// election, a failover, a hand-over, a controller takeover, a foreign
// holder). ControllerOnPostgresE2eTest runs on PostgreSQL alone the
// scenarios that only the pods and the Kubernetes API drive (readiness,
// probes, API faults), and the 60 s database outage: on MariaDB an outage
// and the reconnect after it are covered by the gate's database restart
// scenario and mysql_lease_store_failure_test, for a tenth of the time.
// The CI cost of the split is measured in gate_failover_test.cc.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <thread>

#include "support/e2e_cluster.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ControllerE2eBase : public ::testing::Test {
 protected:
  explicit ControllerE2eBase(std::string engine) : engine_(std::move(engine)) {}

  void StartCluster(E2eOptions options = {}, bool wait_for_leader = true) {
    options.engine = engine_;
    cluster_ = std::make_unique<E2eCluster>(options);
    Status s = cluster_->Start(wait_for_leader);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    if (!cluster_) return;
    int max_selected = cluster_->MaxSelectedEver();
    EXPECT_GE(max_selected, 0) << "the stand-in's selector record is unreadable";
    EXPECT_LE(max_selected, 1) << "the Service selected two pods at once\n"
                               << cluster_->standin().SelectorRecord();
    if (HasFailure()) std::cerr << cluster_->Logs();
  }
  std::string Leader() { return cluster_->LeaseHolderPod(); }
  int IndexOf(const std::string& pod) { return std::stoi(pod.substr(pod.find('-') + 1)); }
  bool WaitForNewLeader(const std::string& old, milliseconds timeout) {
    return E2eCluster::WaitUntil(
        [&] {
          std::string now = Leader();
          return !now.empty() && now != old && cluster_->Agrees();
        },
        timeout);
  }
  // True if the lease names `pod` at every check for `duration`.
  bool LeaderStaysFor(const std::string& pod, milliseconds duration) {
    auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) {
      auto lease = cluster_->Lease();
      std::string holder = cluster_->LeaseHolderPod();
      // An expired lease during an outage is no failover; another holder is.
      if (!holder.empty() && holder != pod) return false;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return true;
  }

  const std::string engine_;
  std::unique_ptr<E2eCluster> cluster_;
};

// The parameter is E2eOptions::engine: "postgres" or "mysql" (MariaDB).
class ControllerE2eTest : public ControllerE2eBase,
                          public ::testing::WithParamInterface<std::string> {
 protected:
  ControllerE2eTest() : ControllerE2eBase(GetParam()) {}
};

class ControllerOnPostgresE2eTest : public ControllerE2eBase {
 protected:
  ControllerOnPostgresE2eTest() : ControllerE2eBase("postgres") {}
};

TEST_P(ControllerE2eTest, InitialElectionRoutesExactlyThePodThatHoldsTheLease) {
  StartCluster();
  EXPECT_TRUE(cluster_->Agrees());
  EXPECT_EQ(cluster_->AskThroughService(), Leader()) << "a client reaches the leader's AMS";
  EXPECT_NE(cluster_->ActiveController(), "");
  std::string out;
  EXPECT_EQ(cluster_->RunCli("status", "--output json", &out), 0) << out;
  EXPECT_NE(out.find(R"("mode":"manage")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("leader":")" + Leader() + "\""), std::string::npos) << out;
  EXPECT_NE(out.find(R"("exitCode":0)"), std::string::npos) << out;
  EXPECT_EQ(cluster_->RunCli("status", "", &out), 0) << out;
  EXPECT_NE(out.find("mode manage"), std::string::npos) << out;
}

TEST_P(ControllerE2eTest, DeletingTheLeaderPodFailsOverToAnotherPod) {
  StartCluster();
  std::string old = Leader();
  const auto deleted = std::chrono::steady_clock::now();
  cluster_->DeletePod(IndexOf(old), /*grace_seconds=*/2);
  ASSERT_TRUE(WaitForNewLeader(old, seconds(5)));
  std::printf("%s: leader pod deleted, new leader routed after %lld ms\n", engine_.c_str(),
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(
                                         std::chrono::steady_clock::now() - deleted)
                                         .count()));
  EXPECT_EQ(cluster_->AskThroughService(), Leader());
}

TEST_F(ControllerOnPostgresE2eTest, ALeaderNotReadyPastTheGraceFailsOver) {
  StartCluster();
  std::string old = Leader();
  cluster_->SetReady(IndexOf(old), false);
  ASSERT_TRUE(WaitForNewLeader(old, seconds(6)));
}

TEST_F(ControllerOnPostgresE2eTest, ANotReadyFlapShorterThanTheGraceChangesNothing) {
  E2eOptions options;
  options.not_ready_grace = "3s";
  StartCluster(options);
  std::string leader = Leader();
  cluster_->SetReady(IndexOf(leader), false);
  std::this_thread::sleep_for(milliseconds(1000));
  cluster_->SetReady(IndexOf(leader), true);
  EXPECT_TRUE(LeaderStaysFor(leader, seconds(4)));
  EXPECT_TRUE(cluster_->Agrees());
}

TEST_F(ControllerOnPostgresE2eTest,
       ALeaderThatStopsAcceptingConnectionsFailsOverAfterTheProbeThreshold) {
  StartCluster();
  std::string old = Leader();
  // Its AMS answers the controller's probe (every 300 ms) first: failures of
  // a leader that never answered do not count (probe.startupGracePeriod).
  std::this_thread::sleep_for(milliseconds(1000));
  cluster_->KillAms(IndexOf(old));  // the pod stays Ready, like a lost node
  ASSERT_TRUE(WaitForNewLeader(old, seconds(6)));
  EXPECT_EQ(cluster_->AskThroughService(), Leader());
}

TEST_P(ControllerE2eTest, KillingTheActiveControllerLetsTheStandbyTakeOverWithoutAnAmsFailover) {
  StartCluster();
  std::string leader = Leader();
  std::string active = cluster_->ActiveController();
  ASSERT_FALSE(active.empty());
  int32_t version_before = cluster_->Lease()->version;
  cluster_->KillController(active == "ctl-0" ? 0 : 1, SIGKILL);
  ASSERT_TRUE(E2eCluster::WaitUntil(
      [&] {
        std::string now = cluster_->ActiveController();
        return !now.empty() && now != active;
      },
      seconds(10)));
  EXPECT_TRUE(LeaderStaysFor(leader, seconds(3)));
  EXPECT_EQ(Leader(), leader) << "a controller takeover never costs an AMS failover";
  EXPECT_GT(cluster_->Lease()->version, version_before + 2) << "the new controller renews";
  EXPECT_TRUE(cluster_->Agrees());
}

TEST_F(ControllerOnPostgresE2eTest,
       StoppingTheDatabaseFor60SecondsKeepsRoutingAndCausesNoFailover) {
  StartCluster();
  std::string leader = Leader();
  ASSERT_TRUE(cluster_->StopDatabase().ok());
  auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<std::string> routed = cluster_->Routed();
    ASSERT_EQ(routed, std::vector<std::string>{leader}) << "routing kept during the outage";
    std::this_thread::sleep_for(milliseconds(500));
  }
  ASSERT_TRUE(cluster_->StartDatabase().ok());
  ASSERT_TRUE(E2eCluster::WaitUntil([&] { return cluster_->Agrees(); }, seconds(10)));
  EXPECT_EQ(Leader(), leader) << "no failover after a database outage";
}

TEST_F(ControllerOnPostgresE2eTest, ApiPauseThenErrorsThenCutWatchesRecoversAndStillFailsOver) {
  StartCluster();
  std::string leader = Leader();
  ASSERT_TRUE(cluster_->standin().Pause(30).ok());
  std::this_thread::sleep_for(seconds(31));
  StandinFault fault;
  fault.count = 20;
  fault.code = 500;
  cluster_->standin().InjectFault(fault);
  std::this_thread::sleep_for(seconds(2));
  cluster_->standin().ClearFaults();
  cluster_->standin().CutWatches();
  ASSERT_TRUE(E2eCluster::WaitUntil([&] { return cluster_->Agrees(); }, seconds(15)));
  EXPECT_EQ(Leader(), leader);
  // The watch is live again: a deletion is still seen and acted on.
  cluster_->DeletePod(IndexOf(leader), 2);
  ASSERT_TRUE(WaitForNewLeader(leader, seconds(8)));
}

TEST_P(ControllerE2eTest, SwitchoverMovesTheLeaderToTheNamedPod) {
  StartCluster();
  std::string old = Leader();
  std::string target = old == "ams-2" ? "ams-0" : "ams-2";
  std::string out;
  int code =
      cluster_->RunCli("switchover", "--cluster prod --to " + target + " --timeout 10s", &out);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("done"), std::string::npos) << out;
  ASSERT_TRUE(
      E2eCluster::WaitUntil([&] { return cluster_->Agrees() && Leader() == target; }, seconds(5)));
  EXPECT_EQ(cluster_->AskThroughService(), target);
}

TEST_P(ControllerE2eTest, AForeignHolderIsLeftAloneUntilItsLeaseExpires) {
  E2eOptions options;
  options.controllers = 0;
  StartCluster(options, /*wait_for_leader=*/false);
  auto store = cluster_->OpenStore();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::string out;
  EXPECT_EQ(cluster_->RunCli("status", "", &out), 3) << "no leader yet\n" << out;
  EXPECT_NE(out.find("PROBLEM (exit 3): nobody holds the lease"), std::string::npos) << out;
  LeaseHolder foreign{"10.9.9.9:1261:amoro-own-uuid", "10.9.9.9",
                      R"({"host":"10.9.9.9","thriftBindPort":1260,"restBindPort":1630})"};
  ASSERT_TRUE((*store)->Acquire({"prod", "AMS"}, foreign, seconds(6)).ok());
  ASSERT_TRUE(cluster_->StartController(0).ok());
  std::this_thread::sleep_for(seconds(3));
  auto lease = cluster_->Lease();
  EXPECT_EQ(lease->node_id.value_or(""), foreign.node_id) << "not displaced while unexpired";
  EXPECT_TRUE(cluster_->Routed().empty()) << "nothing routed while a foreign node holds it";
  EXPECT_EQ(cluster_->RunCli("status", "--output json", &out), 4) << "nothing routed\n" << out;
  ASSERT_TRUE(E2eCluster::WaitUntil([&] { return cluster_->Agrees(); }, seconds(10)));
  EXPECT_NE(cluster_->Lease()->node_id.value_or(""), foreign.node_id);
}

TEST_F(ControllerOnPostgresE2eTest, AllPodsNotReadyRoutesNothingThenTheFirstReadyPodIsRouted) {
  StartCluster();
  for (int i = 0; i < 3; ++i) cluster_->SetReady(i, false);
  ASSERT_TRUE(E2eCluster::WaitUntil([&] { return cluster_->Routed().empty(); }, seconds(6)));
  EXPECT_EQ(cluster_->AskThroughService(), "") << "nobody answers";
  cluster_->SetReady(1, true);
  ASSERT_TRUE(
      E2eCluster::WaitUntil([&] { return cluster_->Agrees() && Leader() == "ams-1"; }, seconds(6)));
  EXPECT_EQ(cluster_->AskThroughService(), "ams-1");
}

INSTANTIATE_TEST_SUITE_P(Engines, ControllerE2eTest, ::testing::Values("postgres", "mysql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "mysql" ? "OnMariaDb" : "OnPostgres";
                         });

}  // namespace
}  // namespace amsha::testing
