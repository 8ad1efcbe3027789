// The shipped Grafana dashboard and alert rules
// (charts/ams-ha-controller/files/), checked against what the controller
// exports: valid files, unique panel ids, a query on every panel, and every
// metric name they use present in a scrape of PrometheusMetrics. The same
// expressions run against a real Prometheus in
// tests/e2e/prometheus_failover_test.cc.
#define _TURN_OFF_PLATFORM_STRING  // cpprest's U() would break gtest
#include <cpprest/json.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "metrics/prometheus_metrics.h"
#include "support/test_env.h"
#include "unit/metrics/exposition.h"

namespace amsha {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string ChartFile(const std::string& name) {
  return testing::SourceDir() + "/charts/ams-ha-controller/files/" + name;
}

// Metric names an expression reads (the project's and the process_* ones).
std::set<std::string> MetricNames(const std::string& expr) {
  static const std::regex kName(R"(\b(ams_ha_[a-z0-9_]+|process_[a-z0-9_]+)\b)");
  std::set<std::string> names;
  for (std::sregex_iterator it(expr.begin(), expr.end(), kName), end; it != end; ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

// A scrape in which every series the controller can export exists.
testing::Exposition FullScrape() {
  PrometheusMetrics::Options options;
  options.version = "0.0.0";
  options.identity = "ctl-0";
  options.clusters = {"prod"};
  PrometheusMetrics metrics(options);
  metrics.SetLeader("prod", "ams-0", "n0");
  metrics.KubeRequest("patch", 200, 0.01);
  metrics.ClusterPods("prod", 3, 3);
  return testing::ParseExposition(metrics.Scrape());
}

struct Query {
  std::string where;  // "panel 3 (Routed pods)" or "alert AmsHaTwoPodsRouted"
  std::string expr;
};

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string text = ReadFile(ChartFile("dashboard.json"));
    ASSERT_FALSE(text.empty()) << "missing " << ChartFile("dashboard.json");
    try {
      dashboard_ = web::json::value::parse(text);
    } catch (const std::exception& e) {
      FAIL() << "dashboard.json is not valid JSON: " << e.what();
    }
    ASSERT_TRUE(dashboard_.is_object());
    ASSERT_TRUE(dashboard_.has_array_field("panels"));
    CollectPanels(dashboard_.at("panels"));
  }

  // Panels, with those nested in collapsed rows.
  void CollectPanels(const web::json::value& list) {
    for (const auto& panel : list.as_array()) {
      panels_.push_back(panel);
      if (panel.has_array_field("panels")) CollectPanels(panel.at("panels"));
    }
  }

  std::vector<Query> Queries() const {
    std::vector<Query> out;
    for (const auto& panel : panels_) {
      if (!panel.has_array_field("targets")) continue;
      for (const auto& target : panel.at("targets").as_array()) {
        out.push_back({"panel " + std::to_string(panel.at("id").as_integer()) + " (" +
                           panel.at("title").as_string() + ")",
                       target.has_string_field("expr") ? target.at("expr").as_string() : ""});
      }
    }
    return out;
  }

  web::json::value dashboard_;
  std::vector<web::json::value> panels_;
};

TEST_F(DashboardTest, PanelIdsAreUnique) {
  std::set<int> ids;
  for (const auto& panel : panels_) {
    ASSERT_TRUE(panel.has_integer_field("id")) << panel.serialize();
    EXPECT_TRUE(ids.insert(panel.at("id").as_integer()).second)
        << "duplicate panel id " << panel.at("id").as_integer();
  }
  EXPECT_GE(ids.size(), 10u);
}

TEST_F(DashboardTest, EveryPanelHasAQueryOnTheDatasourceVariable) {
  for (const auto& panel : panels_) {
    if (panel.at("type").as_string() == "row") continue;
    std::string title = panel.at("title").as_string();
    ASSERT_TRUE(panel.has_array_field("targets")) << title;
    ASSERT_FALSE(panel.at("targets").as_array().size() == 0) << title;
    EXPECT_EQ(panel.at("datasource").at("uid").as_string(), "${datasource}") << title;
    for (const auto& target : panel.at("targets").as_array()) {
      ASSERT_TRUE(target.has_string_field("expr")) << title;
      EXPECT_FALSE(target.at("expr").as_string().empty()) << title;
      EXPECT_EQ(target.at("datasource").at("uid").as_string(), "${datasource}") << title;
    }
  }
}

TEST_F(DashboardTest, DatasourceAndClusterAreTemplateVariables) {
  std::map<std::string, web::json::value> vars;
  for (const auto& v : dashboard_.at("templating").at("list").as_array()) {
    vars[v.at("name").as_string()] = v;
  }
  ASSERT_TRUE(vars.count("datasource"));
  EXPECT_EQ(vars["datasource"].at("type").as_string(), "datasource");
  EXPECT_EQ(vars["datasource"].at("query").as_string(), "prometheus");
  ASSERT_TRUE(vars.count("cluster"));
  EXPECT_EQ(vars["cluster"].at("type").as_string(), "query");
  EXPECT_TRUE(vars["cluster"].at("includeAll").as_bool());
  EXPECT_EQ(vars["cluster"].at("allValue").as_string(), ".*");
  std::string query = vars["cluster"].at("query").at("query").as_string();
  for (const std::string& name : MetricNames(query)) {
    EXPECT_TRUE(FullScrape().names.count(name)) << query;
  }
}

TEST_F(DashboardTest, QueriesUseOnlyKnownVariables) {
  static const std::regex kVar(R"(\$\{?([A-Za-z_]+)\}?)");
  const std::set<std::string> known = {"cluster", "datasource", "__rate_interval", "__range",
                                       "__interval"};
  for (const Query& q : Queries()) {
    for (std::sregex_iterator it(q.expr.begin(), q.expr.end(), kVar), end; it != end; ++it) {
      EXPECT_TRUE(known.count((*it)[1])) << q.where << " uses $" << (*it)[1];
    }
  }
}

TEST_F(DashboardTest, EveryMetricItUsesExistsInAScrape) {
  testing::Exposition scrape = FullScrape();
  for (const Query& q : Queries()) {
    std::set<std::string> names = MetricNames(q.expr);
    EXPECT_FALSE(names.empty()) << q.where << ": " << q.expr;
    for (const std::string& name : names) {
      EXPECT_TRUE(scrape.names.count(name)) << q.where << " uses " << name << ", not exported";
    }
  }
}

TEST_F(DashboardTest, ShowsWhatOperatorsAskFor) {
  struct Need {
    const char* what;
    const char* panel_type;  // "" for any
    const char* in_expr;
  };
  const Need needs[] = {
      {"failovers over time by reason", "timeseries",
       "sum by (cluster, reason) (increase(ams_ha_failovers_total"},
      {"current leader per cluster (state timeline)", "state-timeline", "ams_ha_leader_info"},
      {"failover duration p50", "",
       "histogram_quantile(0.5, sum by (cluster, le) "
       "(increase(ams_ha_failover_duration_seconds_bucket"},
      {"failover duration p95", "",
       "histogram_quantile(0.95, sum by (cluster, le) "
       "(increase(ams_ha_failover_duration_seconds_bucket"},
      {"failover duration p99", "",
       "histogram_quantile(0.99, sum by (cluster, le) "
       "(increase(ams_ha_failover_duration_seconds_bucket"},
      {"time since the last failover", "stat",
       "time() - max by (cluster) (ams_ha_last_failover_timestamp_seconds"},
      {"lease renewals ok/failed", "timeseries", "ams_ha_lease_renewals_total"},
      {"routed pods", "stat", "ams_ha_routed_pods"},
      {"database errors", "", "ams_ha_db_errors_total"},
      {"API errors", "", "ams_ha_kube_requests_total{code!~\"2..\"}"},
      {"active controller", "", "ams_ha_controller_active"},
  };
  for (const Need& need : needs) {
    bool found = false;
    for (const auto& panel : panels_) {
      if (*need.panel_type && panel.at("type").as_string() != need.panel_type) continue;
      if (!panel.has_array_field("targets")) continue;
      for (const auto& target : panel.at("targets").as_array()) {
        found |= target.at("expr").as_string().find(need.in_expr) != std::string::npos;
      }
    }
    EXPECT_TRUE(found) << "no panel shows " << need.what;
  }
}

TEST(AlertRulesTest, EachRuleHasAWindowASeverityAndARunbookOnExportedMetrics) {
  YAML::Node root = YAML::LoadFile(ChartFile("alerts.yaml"));
  ASSERT_TRUE(root["groups"].IsSequence());
  testing::Exposition scrape = FullScrape();
  std::set<std::string> alerts;
  for (const auto& group : root["groups"]) {
    for (const auto& rule : group["rules"]) {
      std::string name = rule["alert"].as<std::string>("");
      ASSERT_FALSE(name.empty()) << "recording rules belong elsewhere";
      alerts.insert(name);
      EXPECT_TRUE(rule["for"].IsScalar()) << name << " has no for: window";
      EXPECT_TRUE(rule["labels"]["severity"].IsScalar()) << name;
      for (const char* key : {"summary", "description", "runbook"}) {
        EXPECT_GT(rule["annotations"][key].as<std::string>("").size(), 20u) << name << " " << key;
      }
      std::string expr = rule["expr"].as<std::string>("");
      for (const std::string& metric : MetricNames(expr)) {
        EXPECT_TRUE(scrape.names.count(metric)) << name << " uses " << metric;
      }
    }
  }
  for (const char* required :
       {"AmsHaNoLeaderRouted", "AmsHaTwoPodsRouted", "AmsHaFrequentFailovers",
        "AmsHaLeaseRenewalsFailing", "AmsHaNoActiveController", "AmsHaDatabaseUnreachable",
        "AmsHaNoAmsCampaigning"}) {
    EXPECT_TRUE(alerts.count(required)) << required;
  }
}

}  // namespace
}  // namespace amsha
