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

#include <cctype>
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

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The anchors GitHub gives a Markdown file's headings: lower case, spaces to
// '-', punctuation other than '-' and '_' dropped.
std::set<std::string> MarkdownAnchors(const std::string& path) {
  std::set<std::string> out;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '#') continue;
    std::string text = line.substr(line.find_first_not_of('#'));
    std::string anchor;
    for (char c : Lower(text.substr(text.find_first_not_of(' ')))) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
        anchor += c;
      } else if (c == ' ') {
        anchor += '-';
      }
    }
    out.insert(anchor);
  }
  return out;
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

TEST_F(DashboardTest, DatasourceNamespaceAndClusterAreTemplateVariables) {
  std::map<std::string, web::json::value> vars;
  for (const auto& v : dashboard_.at("templating").at("list").as_array()) {
    vars[v.at("name").as_string()] = v;
  }
  ASSERT_TRUE(vars.count("datasource"));
  EXPECT_EQ(vars["datasource"].at("type").as_string(), "datasource");
  EXPECT_EQ(vars["datasource"].at("query").as_string(), "prometheus");
  for (const char* name : {"namespace", "ams_cluster"}) {
    ASSERT_TRUE(vars.count(name)) << name;
    EXPECT_EQ(vars[name].at("type").as_string(), "query") << name;
    EXPECT_TRUE(vars[name].at("includeAll").as_bool()) << name;
    EXPECT_EQ(vars[name].at("allValue").as_string(), ".*") << name;
    std::string query = vars[name].at("query").at("query").as_string();
    EXPECT_NE(query.find(", " + std::string(name) + ")"), std::string::npos)
        << "the values of the label " << name << ": " << query;
    for (const std::string& metric : MetricNames(query)) {
      EXPECT_TRUE(FullScrape().names.count(metric)) << query;
    }
  }
  // The cluster list follows the chosen namespaces.
  EXPECT_NE(vars["ams_cluster"].at("query").at("query").as_string().find("$namespace"),
            std::string::npos);
}

// Two installs in two namespaces must never mix: every query of the project's
// metrics filters on the namespace variable, and every aggregation keeps the
// namespace (or a label that only exists within one target).
TEST_F(DashboardTest, EveryQueryFiltersAndGroupsByNamespace) {
  static const std::regex kBy(R"(\b(?:by|on)\s*\(([^)]*)\))");
  for (const Query& q : Queries()) {
    EXPECT_NE(q.expr.find("namespace=~\"$namespace\""), std::string::npos)
        << q.where << ": " << q.expr;
    for (std::sregex_iterator it(q.expr.begin(), q.expr.end(), kBy), end; it != end; ++it) {
      std::string labels = (*it)[1];
      EXPECT_NE(labels.find("namespace"), std::string::npos)
          << q.where << " aggregates without the namespace: " << (*it)[0];
    }
    EXPECT_EQ(q.expr.find("cluster=~\"$cluster\""), std::string::npos) << q.where;
  }
}

// The panels that name the AMS leader read leader_pod, never pod (the
// scraped controller pod, a target label) or exported_pod.
TEST_F(DashboardTest, LeaderPanelsNameTheLeaderPodLabel) {
  int leader_panels = 0;
  for (const auto& panel : panels_) {
    if (!panel.has_array_field("targets")) continue;
    for (const auto& target : panel.at("targets").as_array()) {
      std::string expr = target.at("expr").as_string();
      if (expr.find("ams_ha_leader_info") == std::string::npos) continue;
      ++leader_panels;
      EXPECT_NE(expr.find("leader_pod"), std::string::npos) << expr;
      std::string legend = target.at("legendFormat").as_string();
      EXPECT_NE(legend.find("{{leader_pod}}"), std::string::npos) << legend;
      EXPECT_EQ(legend.find("{{pod}}"), std::string::npos) << legend;
      EXPECT_EQ(expr.find("exported_"), std::string::npos) << expr;
    }
  }
  EXPECT_GE(leader_panels, 2);
}

TEST_F(DashboardTest, QueriesUseOnlyKnownVariables) {
  static const std::regex kVar(R"(\$\{?([A-Za-z_]+)\}?)");
  const std::set<std::string> known = {"namespace",       "ams_cluster", "datasource",
                                       "__rate_interval", "__range",     "__interval"};
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
       "sum by (namespace, ams_cluster, reason) (increase(ams_ha_failovers_total"},
      {"current leader per cluster (state timeline)", "state-timeline", "ams_ha_leader_info"},
      {"failover duration p50", "",
       "histogram_quantile(0.5, sum by (namespace, ams_cluster, le) "
       "(increase(ams_ha_failover_duration_seconds_bucket"},
      {"failover duration p95", "",
       "histogram_quantile(0.95, sum by (namespace, ams_cluster, le) "
       "(increase(ams_ha_failover_duration_seconds_bucket"},
      {"failover duration p99", "",
       "histogram_quantile(0.99, sum by (namespace, ams_cluster, le) "
       "(increase(ams_ha_failover_duration_seconds_bucket"},
      {"time since the last failover", "stat",
       "time() - max by (namespace, ams_cluster) (ams_ha_last_failover_timestamp_seconds"},
      {"lease renewals ok/failed", "timeseries", "ams_ha_lease_renewals_total"},
      {"routed pods", "stat", "ams_ha_routed_pods"},
      {"database errors", "", "ams_ha_db_errors_total"},
      {"API errors", "", "code!~\"2..\""},
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
  std::set<std::string> anchors = MarkdownAnchors(testing::SourceDir() + "/docs/observability.md");
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
      // runbook_url: the alert's own runbook heading in docs/observability.md.
      std::string url = rule["annotations"]["runbook_url"].as<std::string>("");
      EXPECT_EQ(url, "docs/observability.md#" + Lower(name)) << name;
      EXPECT_TRUE(anchors.count(url.substr(url.find('#') + 1)))
          << name << ": docs/observability.md has no heading for " << url;
      std::string expr = rule["expr"].as<std::string>("");
      // Grouped per install: by namespace, or per series (which keeps it).
      static const std::regex kBy(R"(\b(?:by|on)\s*\(([^)]*)\))");
      for (std::sregex_iterator it(expr.begin(), expr.end(), kBy), end; it != end; ++it) {
        EXPECT_NE(std::string((*it)[1]).find("namespace"), std::string::npos)
            << name << " aggregates without the namespace: " << (*it)[0];
      }
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
