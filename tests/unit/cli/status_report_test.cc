#include "cli/status_report.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "support/pod_builder.h"

namespace amsha {
namespace {

using testing::PodBuilder;

LeaseRecord Lease(const std::string& node_id, const std::string& ip, int64_t expires_in_ms) {
  LeaseRecord r;
  r.key = {"prod", kAmsServiceName};
  r.node_id = node_id;
  r.node_ip = ip;
  r.version = 7;
  r.db_now_ms = 1000000;
  r.lease_expire_ts_ms = r.db_now_ms + expires_in_ms;
  return r;
}

class StatusReportTest : public ::testing::Test {
 protected:
  StatusReportTest() {
    pods_ = {PodBuilder("ams-0").Ip("10.0.0.1").Uid("u0"),
             PodBuilder("ams-1").Ip("10.0.0.2").Uid("u1")};
    status_.name = "prod";
    status_.service = "ams-leader";
  }
  ClusterStatus Resolve(std::optional<LeaseRecord> lease, std::vector<std::string> routed) {
    status_.lease = std::move(lease);
    ResolvePods(pods_, routed, &status_);
    return status_;
  }

  std::vector<Pod> pods_;
  ClusterStatus status_;
};

TEST_F(StatusReportTest, OneRoutedPodThatHoldsTheLeaseIsHealthy) {
  ClusterStatus s = Resolve(Lease("10.0.0.1:1261:u0", "10.0.0.1", 5000), {"ams-0"});
  EXPECT_EQ(s.leader_pod, "ams-0");
  EXPECT_EQ(JudgeCluster(s).code, kStatusHealthy);
  EXPECT_EQ(StatusExitCode({s}), 0);
}

TEST_F(StatusReportTest, NoRowOrAnExpiredLeaseMeansNoLeader) {
  EXPECT_EQ(JudgeCluster(Resolve(std::nullopt, {"ams-0"})).code, kStatusNoLeader);
  ClusterStatus expired = Resolve(Lease("10.0.0.1:1261:u0", "10.0.0.1", -1), {"ams-0"});
  StatusVerdict v = JudgeCluster(expired);
  EXPECT_EQ(v.code, kStatusNoLeader);
  EXPECT_NE(v.problem.find("expired"), std::string::npos) << v.problem;
  EXPECT_EQ(expired.leader_pod, "");
}

TEST_F(StatusReportTest, AServiceThatSelectsNothingIsNotRouted) {
  StatusVerdict v = JudgeCluster(Resolve(Lease("10.0.0.1:1261:u0", "10.0.0.1", 5000), {}));
  EXPECT_EQ(v.code, kStatusNothingRouted);
  EXPECT_NE(v.problem.find("selects no pod"), std::string::npos) << v.problem;
}

TEST_F(StatusReportTest, RoutingAPodThatDoesNotHoldTheLeaseIsCaught) {
  StatusVerdict v = JudgeCluster(Resolve(Lease("10.0.0.1:1261:u0", "10.0.0.1", 5000), {"ams-1"}));
  EXPECT_EQ(v.code, kStatusRoutedNotHolder);
  EXPECT_EQ(v.problem, "Service ams-leader selects ams-1, but the lease is held by ams-0");
}

TEST_F(StatusReportTest, RoutingTwoPodsIsCaught) {
  EXPECT_EQ(
      JudgeCluster(Resolve(Lease("10.0.0.1:1261:u0", "10.0.0.1", 5000), {"ams-0", "ams-1"})).code,
      kStatusRoutedNotHolder);
}

TEST_F(StatusReportTest, AHolderThatIsNoPodOfTheClusterIsNeverHealthy) {
  ClusterStatus s = Resolve(Lease("10.9.9.9:1261:other", "10.9.9.9", 5000), {"ams-0"});
  EXPECT_EQ(JudgeCluster(s).code, kStatusRoutedNotHolder);
}

TEST_F(StatusReportTest, FollowModeFindsTheHolderByItsIp) {
  status_.mode = ClusterMode::kFollow;
  ClusterStatus s = Resolve(Lease("10.0.0.2:1261", "10.0.0.2", 5000), {"ams-1"});
  EXPECT_EQ(s.leader_pod, "ams-1");
  EXPECT_EQ(JudgeCluster(s).code, kStatusHealthy);
}

TEST_F(StatusReportTest, AClusterThatCannotBeCheckedIsUnknownButNoLeaderWins) {
  ClusterStatus unreadable = Resolve(Lease("10.0.0.1:1261:u0", "10.0.0.1", 5000), {"ams-0"});
  unreadable.kube_error = "connection refused";
  EXPECT_EQ(JudgeCluster(unreadable).code, kStatusUnknown);
  ClusterStatus leaderless = Resolve(std::nullopt, {});
  EXPECT_EQ(StatusExitCode({unreadable, leaderless}), kStatusNoLeader);
  ClusterStatus healthy = Resolve(Lease("10.0.0.1:1261:u0", "10.0.0.1", 5000), {"ams-0"});
  EXPECT_EQ(StatusExitCode({healthy, unreadable}), kStatusUnknown);
}

TEST_F(StatusReportTest, JsonCarriesModeGateAndVerdict) {
  ClusterStatus s = Resolve(Lease("10.0.0.1:1261:u0", "10.0.0.1", 5000), {"ams-1"});
  LeaseRecord gate = Lease("10.0.0.1:1261:u0", "10.0.0.1", 3000);
  gate.server_info_json = R"({"pod":"ams-0","ams":"serving"})";
  s.gate = gate;
  std::optional<Json> parsed = Json::Parse(StatusJson(std::nullopt, {s}));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->Find("exitCode")->AsNumber(), kStatusRoutedNotHolder);
  EXPECT_EQ(parsed->Find("activeController")->kind(), Json::Kind::kNull);
  EXPECT_EQ(parsed->Find("clusters")->kind(), Json::Kind::kArray);
  const std::string text = StatusJson(std::nullopt, {s});
  EXPECT_NE(text.find(R"("mode":"manage")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("gate":{"nodeId":"10.0.0.1:1261:u0")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("expiresInMs":3000)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("pod":"ams-0","ams":"serving")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("healthy":false,"problem":"Service ams-leader selects ams-1)"),
            std::string::npos)
      << text;
}

TEST_F(StatusReportTest, TextShowsModeGateHolderAndTheProblem) {
  ClusterStatus s = Resolve(std::nullopt, {});
  LeaseRecord gate = Lease("10.0.0.1:1261:u0", "10.0.0.1", 2500);
  gate.server_info_json = R"({"pod":"ams-0"})";
  s.gate = gate;
  std::string text = StatusText(std::nullopt, {s});
  EXPECT_NE(text.find("Cluster prod  (Service ams-leader, mode manage)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  gate: 10.0.0.1:1261:u0 (pod ams-0)  expires in 2.5s"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  PROBLEM (exit 3): nobody holds the lease"), std::string::npos) << text;
}

TEST_F(StatusReportTest, FollowModeHasNoGateRow) {
  status_.mode = ClusterMode::kFollow;
  ClusterStatus s = Resolve(Lease("10.0.0.2:1261", "10.0.0.2", 5000), {"ams-1"});
  EXPECT_EQ(StatusJson(std::nullopt, {s}).find("\"gate\""), std::string::npos);
  EXPECT_EQ(StatusText(std::nullopt, {s}).find("gate:"), std::string::npos);
}

}  // namespace
}  // namespace amsha
