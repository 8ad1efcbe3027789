#include "metrics/prometheus_metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "common/clock.h"
#include "election/cluster_elector.h"
#include "unit/metrics/exposition.h"

namespace amsha {
namespace {

using testing::Exposition;
using testing::ParseExposition;

class PrometheusMetricsTest : public ::testing::Test {
 protected:
  PrometheusMetricsTest() : metrics_(Options()) {}
  PrometheusMetrics::Options Options() {
    PrometheusMetrics::Options options;
    options.version = "1.2.3";
    options.identity = "ctl-0";
    options.clusters = {"prod", "test"};
    options.clock = &clock_;
    return options;
  }
  Exposition Scrape() { return ParseExposition(metrics_.Scrape()); }

  FakeClock clock_;
  PrometheusMetrics metrics_;
};

TEST_F(PrometheusMetricsTest, EveryConfiguredClusterHasItsSeriesBeforeAnythingHappens) {
  Exposition e = Scrape();
  for (const char* cluster : {"prod", "test"}) {
    std::string c = std::string("ams_cluster=\"") + cluster + "\"";
    EXPECT_EQ(e.Get("ams_ha_leader_transitions_total{" + c + "}"), 0.0) << cluster;
    EXPECT_EQ(e.Get("ams_ha_routed_pods{" + c + "}"), 0.0);
    EXPECT_EQ(e.Get("ams_ha_pods{" + c + "}"), 0.0);
    EXPECT_EQ(e.Get("ams_ha_ready_pods{" + c + "}"), 0.0);
    EXPECT_EQ(e.Get("ams_ha_foreign_lease_holder{" + c + "}"), 0.0);
    EXPECT_EQ(e.Get("ams_ha_lease_expiry_timestamp_seconds{" + c + "}"), 0.0);
    EXPECT_EQ(e.Get("ams_ha_last_failover_timestamp_seconds{" + c + "}"), 0.0);
    EXPECT_EQ(e.Get("ams_ha_failover_duration_seconds_count{" + c + "}"), 0.0);
    EXPECT_EQ(e.Get("ams_ha_failover_duration_seconds_bucket{" + c + ",le=\"+Inf\"}"), 0.0);
    for (const char* result : {"ok", "conflict", "error"}) {
      EXPECT_EQ(e.Get("ams_ha_lease_renewals_total{" + c + ",result=\"" + result + "\"}"), 0.0)
          << result;
    }
  }
  EXPECT_EQ(e.Get("ams_ha_build_info{version=\"1.2.3\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_controller_active{identity=\"ctl-0\"}"), 0.0);
  EXPECT_EQ(e.Get("ams_ha_db_up"), 0.0);
  EXPECT_EQ(e.Get("ams_ha_db_errors_total"), 0.0);
  EXPECT_FALSE(e.HasSeriesStartingWith("ams_ha_leader_info")) << "no leader known yet";
}

TEST_F(PrometheusMetricsTest, EveryFailoverReasonOfTheElectorHasASeriesFromTheStart) {
  Exposition e = Scrape();
  int reasons = 0;
  for (int r = static_cast<int>(FailoverReason::kPodDeleted);
       r <= static_cast<int>(FailoverReason::kForeignExpired); ++r) {
    std::string reason = FailoverReasonName(static_cast<FailoverReason>(r));
    EXPECT_EQ(e.Get("ams_ha_failovers_total{ams_cluster=\"prod\",reason=\"" + reason + "\"}"), 0.0)
        << reason;
    ++reasons;
  }
  EXPECT_EQ(reasons, 6);
}

TEST_F(PrometheusMetricsTest, LeaderInfoMovesToTheNewLeaderAndDropsTheOldSeries) {
  metrics_.SetLeader("prod", "ams-0", "n0");
  Exposition before = Scrape();
  EXPECT_EQ(
      before.Get("ams_ha_leader_info{ams_cluster=\"prod\",leader_pod=\"ams-0\",node_id=\"n0\"}"),
      1.0);

  metrics_.SetLeader("prod", "ams-1", "n1");
  Exposition after = Scrape();
  EXPECT_EQ(
      after.Get("ams_ha_leader_info{ams_cluster=\"prod\",leader_pod=\"ams-1\",node_id=\"n1\"}"),
      1.0);
  EXPECT_FALSE(
      after.Get("ams_ha_leader_info{ams_cluster=\"prod\",leader_pod=\"ams-0\",node_id=\"n0\"}"))
      << "a dashboard must never show two leaders";
}

TEST_F(PrometheusMetricsTest, LeaderInfoOfOneClusterLeavesTheOtherAlone) {
  metrics_.SetLeader("prod", "ams-0", "n0");
  metrics_.SetLeader("test", "t-0", "t0");
  metrics_.SetLeader("prod", "", "");
  Exposition e = Scrape();
  EXPECT_FALSE(e.HasSeriesStartingWith("ams_ha_leader_info{ams_cluster=\"prod\""));
  EXPECT_EQ(e.Get("ams_ha_leader_info{ams_cluster=\"test\",leader_pod=\"t-0\",node_id=\"t0\"}"),
            1.0);
}

TEST_F(PrometheusMetricsTest, RoutingTheSameLeaderAgainKeepsOneSeries) {
  metrics_.SetLeader("prod", "ams-0", "n0");
  metrics_.SetLeader("prod", "ams-0", "n0");
  Exposition e = Scrape();
  int series = 0;
  for (const auto& [name, value] : e.samples) series += name.rfind("ams_ha_leader_info", 0) == 0;
  EXPECT_EQ(series, 1);
  EXPECT_EQ(e.Get("ams_ha_leader_info{ams_cluster=\"prod\",leader_pod=\"ams-0\",node_id=\"n0\"}"),
            1.0);
}

TEST_F(PrometheusMetricsTest, AReplicaThatStopsBeingActiveDropsItsLeaderInfo) {
  metrics_.ControllerActive("ctl-0", true);
  metrics_.SetLeader("prod", "ams-0", "n0");
  metrics_.ControllerActive("ctl-0", true);
  EXPECT_TRUE(Scrape().HasSeriesStartingWith("ams_ha_leader_info"));
  metrics_.ControllerActive("ctl-0", false);
  Exposition e = Scrape();
  EXPECT_FALSE(e.HasSeriesStartingWith("ams_ha_leader_info"));
  EXPECT_EQ(e.Get("ams_ha_controller_active{identity=\"ctl-0\"}"), 0.0);
}

TEST_F(PrometheusMetricsTest, AFailoverCountsItsReasonTimesItAndStampsTheWallClock) {
  metrics_.LeaderTransition("prod");
  metrics_.Failover("prod", "not_ready", 0.3);
  Exposition e = Scrape();
  EXPECT_EQ(e.Get("ams_ha_failovers_total{ams_cluster=\"prod\",reason=\"not_ready\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_failovers_total{ams_cluster=\"prod\",reason=\"pod_deleted\"}"), 0.0);
  EXPECT_EQ(e.Get("ams_ha_failovers_total{ams_cluster=\"test\",reason=\"not_ready\"}"), 0.0);
  EXPECT_EQ(e.Get("ams_ha_leader_transitions_total{ams_cluster=\"prod\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_failover_duration_seconds_count{ams_cluster=\"prod\"}"), 1.0);
  EXPECT_DOUBLE_EQ(*e.Get("ams_ha_failover_duration_seconds_sum{ams_cluster=\"prod\"}"), 0.3);
  EXPECT_EQ(e.Get("ams_ha_failover_duration_seconds_bucket{ams_cluster=\"prod\",le=\"0.25\"}"),
            0.0);
  EXPECT_EQ(e.Get("ams_ha_failover_duration_seconds_bucket{ams_cluster=\"prod\",le=\"0.5\"}"), 1.0);
  double wall = std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count();
  EXPECT_DOUBLE_EQ(*e.Get("ams_ha_last_failover_timestamp_seconds{ams_cluster=\"prod\"}"), wall);
}

TEST_F(PrometheusMetricsTest, FailoverBucketsSpanTenMillisecondsToAMinute) {
  Exposition e = Scrape();
  std::string c = "ams_ha_failover_duration_seconds_bucket{ams_cluster=\"prod\",le=\"";
  EXPECT_TRUE(e.Get(c + "0.01\"}"));
  EXPECT_TRUE(e.Get(c + "1\"}"));
  EXPECT_TRUE(e.Get(c + "60\"}"));
  EXPECT_FALSE(e.Get(c + "0.005\"}"));
}

TEST_F(PrometheusMetricsTest, RenewalsExpiryRoutingAndForeignHoldersAreRecordedPerCluster) {
  metrics_.LeaseRenewal("prod", "ok");
  metrics_.LeaseRenewal("prod", "ok");
  metrics_.LeaseRenewal("prod", "conflict");
  metrics_.LeaseExpiry("prod", 1800000030.5);
  metrics_.RoutedPods("prod", 1);
  metrics_.ForeignHolder("test", true);
  Exposition e = Scrape();
  EXPECT_EQ(e.Get("ams_ha_lease_renewals_total{ams_cluster=\"prod\",result=\"ok\"}"), 2.0);
  EXPECT_EQ(e.Get("ams_ha_lease_renewals_total{ams_cluster=\"prod\",result=\"conflict\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_lease_renewals_total{ams_cluster=\"prod\",result=\"error\"}"), 0.0);
  EXPECT_DOUBLE_EQ(*e.Get("ams_ha_lease_expiry_timestamp_seconds{ams_cluster=\"prod\"}"),
                   1800000030.5);
  EXPECT_EQ(e.Get("ams_ha_routed_pods{ams_cluster=\"prod\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_foreign_lease_holder{ams_cluster=\"test\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_foreign_lease_holder{ams_cluster=\"prod\"}"), 0.0);
}

TEST_F(PrometheusMetricsTest, DatabaseStateAndErrorsAreExported) {
  metrics_.DatabaseUp(true);
  EXPECT_EQ(Scrape().Get("ams_ha_db_up"), 1.0);
  metrics_.DatabaseUp(false);
  metrics_.DatabaseError();
  metrics_.DatabaseError();
  Exposition e = Scrape();
  EXPECT_EQ(e.Get("ams_ha_db_up"), 0.0);
  EXPECT_EQ(e.Get("ams_ha_db_errors_total"), 2.0);
}

TEST_F(PrometheusMetricsTest, WhetherTheActiveReplicaListensForLeaseChangesIsExported) {
  EXPECT_EQ(Scrape().Get("ams_ha_lease_listening"), 0.0);
  metrics_.LeaseListening(true);
  EXPECT_EQ(Scrape().Get("ams_ha_lease_listening"), 1.0);
  metrics_.LeaseListening(false);
  EXPECT_EQ(Scrape().Get("ams_ha_lease_listening"), 0.0);
}

TEST_F(PrometheusMetricsTest, KubeRequestsAreCountedByVerbAndCodeAndTimedExceptWatches) {
  metrics_.KubeRequest("patch", 200, 0.02);
  metrics_.KubeRequest("patch", 409, 0.03);
  metrics_.KubeRequest("list", 0, 1.0);
  metrics_.KubeRequest("watch", 200, 300.0);
  Exposition e = Scrape();
  EXPECT_EQ(e.Get("ams_ha_kube_requests_total{code=\"200\",verb=\"patch\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_kube_requests_total{code=\"409\",verb=\"patch\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_kube_requests_total{code=\"0\",verb=\"list\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_kube_requests_total{code=\"200\",verb=\"watch\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_kube_request_duration_seconds_count{verb=\"patch\"}"), 2.0);
  EXPECT_EQ(e.Get("ams_ha_kube_request_duration_seconds_count{verb=\"list\"}"), 1.0);
  EXPECT_EQ(e.Get("ams_ha_kube_request_duration_seconds_count{verb=\"get\"}"), 0.0);
  EXPECT_FALSE(e.HasSeriesStartingWith("ams_ha_kube_request_duration_seconds_count{verb=\"watch\""))
      << "a watch stays open for minutes: it is no latency";
}

TEST_F(PrometheusMetricsTest, ScrapeHooksRunFirstSoSampledPodCountsAreCurrent) {
  int pods = 3;
  metrics_.OnScrape([&] { metrics_.ClusterPods("prod", pods, pods - 1); });
  EXPECT_EQ(Scrape().Get("ams_ha_pods{ams_cluster=\"prod\"}"), 3.0);
  pods = 5;
  Exposition e = Scrape();
  EXPECT_EQ(e.Get("ams_ha_pods{ams_cluster=\"prod\"}"), 5.0);
  EXPECT_EQ(e.Get("ams_ha_ready_pods{ams_cluster=\"prod\"}"), 4.0);
}

TEST_F(PrometheusMetricsTest, ProcessFiguresComeFromProc) {
  Exposition e = Scrape();
  ASSERT_TRUE(e.Get("process_resident_memory_bytes"));
  EXPECT_GT(*e.Get("process_resident_memory_bytes"), 1 << 20);
  ASSERT_TRUE(e.Get("process_cpu_seconds_total"));
  EXPECT_GE(*e.Get("process_cpu_seconds_total"), 0.0);
  EXPECT_GT(*e.Get("process_start_time_seconds"), 1.6e9);
  EXPECT_GT(*e.Get("process_open_fds"), 2.0);
  EXPECT_EQ(e.type["process_cpu_seconds_total"], "counter");
  EXPECT_EQ(e.type["process_resident_memory_bytes"], "gauge");
}

TEST_F(PrometheusMetricsTest, NoLabelIsATargetLabelOfThePrometheusOperatorNorCluster) {
  // Every series the controller can export, then every label name in them.
  metrics_.SetLeader("prod", "ams-0", "n0");
  metrics_.ControllerActive("ctl-0", true);
  metrics_.LeaderTransition("prod");
  metrics_.Failover("prod", "not_ready", 0.1);
  metrics_.LeaseRenewal("prod", "ok");
  metrics_.LeaseExpiry("prod", 1.0);
  metrics_.RoutedPods("prod", 1);
  metrics_.ForeignHolder("prod", false);
  metrics_.DatabaseUp(true);
  metrics_.DatabaseError();
  metrics_.KubeRequest("patch", 200, 0.01);
  metrics_.KubeRequest("watch", 200, 1);
  metrics_.ClusterPods("prod", 3, 2);
  Exposition e = Scrape();
  // The target labels Prometheus and the Prometheus Operator put on every
  // sample of a ServiceMonitor / PodMonitor target (with honor_labels false a
  // metric label of the same name becomes exported_<name>), and `cluster`,
  // the usual label of the Kubernetes cluster.
  const std::set<std::string> forbidden = {"namespace", "service", "pod",      "container",
                                           "endpoint",  "job",     "instance", "cluster"};
  std::set<std::string> seen;
  static const std::regex kLabel(R"re(([A-Za-z_][A-Za-z0-9_]*)="(?:[^"\\]|\\.)*")re");
  for (const auto& [series, value] : e.samples) {
    size_t brace = series.find('{');
    if (brace == std::string::npos) continue;
    std::string labels = series.substr(brace);
    for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), end; it != end; ++it) {
      std::string name = (*it)[1];
      seen.insert(name);
      EXPECT_FALSE(forbidden.count(name)) << series << " uses the label " << name;
    }
  }
  // The ones the controller does use, so this test cannot pass on an empty
  // scrape.
  for (const char* used : {"ams_cluster", "leader_pod", "node_id", "reason", "result", "identity",
                           "verb", "code", "version", "le"}) {
    EXPECT_TRUE(seen.count(used)) << used;
  }
}

TEST_F(PrometheusMetricsTest, EveryMetricHasHelpTextAndAType) {
  metrics_.SetLeader("prod", "ams-0", "n0");
  metrics_.KubeRequest("get", 200, 0.01);
  Exposition e = Scrape();
  ASSERT_GT(e.help.size(), 20u);
  for (const auto& [name, help] : e.help) {
    EXPECT_GT(help.size(), 10u) << name;
    EXPECT_TRUE(e.type.count(name)) << name;
  }
  for (const std::string& sample : e.names) {
    std::string family = sample;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      size_t n = std::char_traits<char>::length(suffix);
      if (!e.help.count(family) && family.size() > n &&
          family.compare(family.size() - n, n, suffix) == 0) {
        family = family.substr(0, family.size() - n);
      }
    }
    EXPECT_TRUE(e.help.count(family)) << sample << " has no HELP";
  }
}

}  // namespace
}  // namespace amsha
