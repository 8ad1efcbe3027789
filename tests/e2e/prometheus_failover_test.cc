// End-to-end observability: a real Prometheus (Debian's `prometheus`,
// started here on a loopback port, scraping every second) watches both
// controller replicas while the test causes failovers and faults. Then:
//   * ams_ha_failovers_total went up by exactly the failovers caused, per
//     reason, and the failover-duration histogram counted each;
//   * every PromQL expression of the shipped dashboard and alert rules
//     (charts/ams-ha-controller/files/) returns data through Prometheus'
//     HTTP API over the test's time range. The faults exist to produce the
//     data that only a failure produces (no pod routed, renewals failing,
//     no active controller, database down, API errors). One expression is
//     asserted to return a valid, empty result: AmsHaTwoPodsRouted, whose
//     healthy answer is "nothing" (the controller never routes two pods;
//     tests/e2e/prometheus_rules_test.sh shows it firing on synthetic data);
//   * Prometheus evaluated every alert rule without error;
//   * no log line carries the database password or the API token.
// A second test runs `promtool check metrics` on each replica's /metrics and
// checks /healthz and /readyz through a database outage.
#define _TURN_OFF_PLATFORM_STRING  // cpprest's U() would break gtest
#include <cpprest/json.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "support/child_process.h"
#include "support/e2e_cluster.h"
#include "support/sql_session.h"
#include "support/standin_process.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string ChartFile(const std::string& name) {
  return SourceDir() + "/charts/ams-ha-controller/files/" + name;
}

std::string Fixed(double v) {
  std::ostringstream out;
  out.precision(3);
  out << std::fixed << v;
  return out.str();
}

// A Prometheus server for one test: its own config, data directory and port.
class PrometheusProcess {
 public:
  explicit PrometheusProcess(std::string dir) : dir_(std::move(dir)) {}

  Status Start(const std::vector<int>& target_ports, const std::string& rules_file) {
    port_ = FreeLoopbackPort();
    std::ofstream config(dir_ + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
           << "rule_files:\n  - " << rules_file << "\n"
           << "scrape_configs:\n  - job_name: ams-ha-controller\n    static_configs:\n"
           << "      - targets: [";
    for (size_t i = 0; i < target_ports.size(); ++i) {
      config << (i ? ", " : "") << "'127.0.0.1:" << target_ports[i] << "'";
    }
    config << "]\n";
    config.close();
    std::string binary;
    if (RunCommand("command -v prometheus", &binary) != 0) {
      return FailedPreconditionError("prometheus not installed");
    }
    binary = binary.substr(0, binary.find('\n'));
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary, "--config.file=" + dir_ + "/prometheus.yml",
                                 "--storage.tsdb.path=" + dir_ + "/data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--log.level=warn"},
        std::map<std::string, std::string>{}, dir_ + "/prometheus.log");
    Status s = process_->Start();
    if (!s.ok()) return s;
    bool ready = E2eCluster::WaitUntil(
        [&] { return PlainHttp(port_, "GET", "/-/ready", "").code == 200; }, seconds(30));
    return ready ? Status::Ok() : InternalError("prometheus not ready:\n" + process_->Log());
  }

  // GET /api/v1/<api> with URL-encoded parameters; the "data" member.
  StatusOr<web::json::value> Api(const std::string& api,
                                 const std::map<std::string, std::string>& params) {
    std::string command =
        "curl -sS -G 'http://127.0.0.1:" + std::to_string(port_) + "/api/v1/" + api + "'";
    int n = 0;
    for (const auto& [name, value] : params) {
      // Through files: PromQL is full of quotes and braces.
      std::string file = dir_ + "/param-" + std::to_string(n++);
      std::ofstream(file) << value;
      command += " --data-urlencode '" + name + "@" + file + "'";
    }
    std::string out;
    if (RunCommand(command, &out) != 0) return InternalError("curl: " + out);
    web::json::value body;
    try {
      body = web::json::value::parse(out);
    } catch (const std::exception& e) {
      return InternalError("not JSON: " + out.substr(0, 500));
    }
    if (!body.has_string_field("status") || body.at("status").as_string() != "success") {
      return InternalError(api + " failed: " + out.substr(0, 1000));
    }
    return body.at("data");
  }

  // The result vector/matrix of `expr` over [start, end] at 1 s steps.
  StatusOr<web::json::value> QueryRange(const std::string& expr, double start, double end) {
    auto data = Api("query_range",
                    {{"query", expr}, {"start", Fixed(start)}, {"end", Fixed(end)}, {"step", "1"}});
    if (!data.ok()) return data.status();
    return data->at("result");
  }
  StatusOr<web::json::value> Query(const std::string& expr, double time) {
    auto data = Api("query", {{"query", expr}, {"time", Fixed(time)}});
    if (!data.ok()) return data.status();
    return data->at("result");
  }
  // The value of a one-sample instant query (e.g. a sum), or NaN.
  double Scalar(const std::string& expr, double time) {
    auto result = Query(expr, time);
    if (!result.ok() || result->as_array().size() != 1) return std::nan("");
    return std::stod(result->as_array().at(0).at("value").at(1).as_string());
  }
  // Sample values by one label, e.g. {"not_ready": 2, ...}.
  std::map<std::string, double> ByLabel(const std::string& expr, const std::string& label,
                                        double time) {
    std::map<std::string, double> out;
    auto result = Query(expr, time);
    if (!result.ok()) return out;
    for (const auto& sample : result->as_array()) {
      out[sample.at("metric").at(label).as_string()] =
          std::stod(sample.at("value").at(1).as_string());
    }
    return out;
  }
  // Polls until the instant query returns data; false after `timeout`.
  bool WaitForData(const std::string& expr, milliseconds timeout) {
    return E2eCluster::WaitUntil(
        [&] {
          auto result = Query(expr, UnixNow());
          return result.ok() && !result->as_array().size() == 0;
        },
        timeout);
  }

  std::string Log() const { return process_ ? process_->Log() : ""; }

 private:
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

struct Expression {
  std::string where;
  std::string expr;
};

// Every target of the dashboard, with Grafana's variables replaced as
// Grafana would for cluster "prod" over a range of `range_seconds`.
std::vector<Expression> DashboardExpressions(int range_seconds) {
  web::json::value dashboard = web::json::value::parse(ReadFile(ChartFile("dashboard.json")));
  std::vector<Expression> out;
  for (const auto& panel : dashboard.at("panels").as_array()) {
    if (!panel.has_array_field("targets")) continue;
    for (const auto& target : panel.at("targets").as_array()) {
      std::string expr = target.at("expr").as_string();
      const std::pair<std::string, std::string> vars[] = {
          {"$__rate_interval", "5s"},
          {"$__interval", "1s"},
          {"$__range", std::to_string(range_seconds) + "s"},
          {"$cluster", "prod"}};
      for (const auto& [var, value] : vars) {
        for (size_t at = expr.find(var); at != std::string::npos; at = expr.find(var, at)) {
          expr.replace(at, var.size(), value);
        }
      }
      out.push_back({"dashboard panel \"" + panel.at("title").as_string() + "\" " +
                         target.at("refId").as_string(),
                     expr});
    }
  }
  return out;
}

std::vector<Expression> AlertExpressions() {
  std::vector<Expression> out;
  YAML::Node root = YAML::LoadFile(ChartFile("alerts.yaml"));
  for (const auto& group : root["groups"]) {
    for (const auto& rule : group["rules"]) {
      out.push_back({rule["alert"].as<std::string>(), rule["expr"].as<std::string>()});
    }
  }
  return out;
}

std::string AlertExpr(const std::string& name) {
  for (const Expression& e : AlertExpressions()) {
    if (e.where == name) return e.expr;
  }
  return "";
}

class PrometheusE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunCommand("command -v prometheus promtool", nullptr) != 0) {
      AMS_HA_CANNOT_RUN(
          "prometheus/promtool missing; install them with apt-get install prometheus "
          "(scripts/install-deps.sh)");
    }
  }
  void StartCluster(E2eOptions options) {
    cluster_ = std::make_unique<E2eCluster>(options);
    Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    if (!cluster_) return;
    EXPECT_LE(cluster_->MaxSelectedEver(), 1) << "the Service selected two pods at once";
    if (HasFailure()) {
      std::cerr << cluster_->Logs();
      if (prometheus_) std::cerr << "---- prometheus ----\n" << prometheus_->Log();
    }
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
  std::vector<int> MetricsPorts() {
    std::vector<int> ports;
    for (int i = 0; i < cluster_->options().controllers; ++i) {
      ports.push_back(cluster_->MetricsPort(i));
      EXPECT_NE(ports.back(), 0) << "ctl-" << i << " logged no metrics address";
    }
    return ports;
  }

  std::unique_ptr<E2eCluster> cluster_;
  std::unique_ptr<PrometheusProcess> prometheus_;
};

TEST_F(PrometheusE2eTest, PrometheusCountsEveryFailoverAndEveryDashboardAndAlertQueryReturnsData) {
  E2eOptions options;
  options.pods = 4;
  // Long enough that no fault below lets the AMS lease expire: the only
  // failovers are the five this test causes.
  options.lease_ttl = "30s";
  StartCluster(options);
  std::vector<int> ports = MetricsPorts();
  ASSERT_EQ(ports.size(), 2u);
  prometheus_ = std::make_unique<PrometheusProcess>(cluster_->dir());
  Status started = prometheus_->Start(ports, ChartFile("alerts.yaml"));
  ASSERT_TRUE(started.ok()) << started.ToString();
  ASSERT_TRUE(
      prometheus_->WaitForData("count(up{job=\"ams-ha-controller\"} == 1) == 2", seconds(20)))
      << "Prometheus does not scrape both replicas";
  std::this_thread::sleep_for(seconds(2));
  const double t0 = UnixNow();
  const std::string kFailovers = "sum(ams_ha_failovers_total{cluster=\"prod\"})";
  const std::string kByReason = "sum by (reason) (ams_ha_failovers_total{cluster=\"prod\"})";
  const std::string kDurations = "sum(ams_ha_failover_duration_seconds_count{cluster=\"prod\"})";
  const std::string kUnderAMinute =
      "sum(ams_ha_failover_duration_seconds_bucket{cluster=\"prod\",le=\"60\"})";
  const double failovers_before = prometheus_->Scalar(kFailovers, t0);
  const double durations_before = prometheus_->Scalar(kDurations, t0);
  const double under_a_minute_before = prometheus_->Scalar(kUnderAMinute, t0);
  const std::map<std::string, double> by_reason_before =
      prometheus_->ByLabel(kByReason, "reason", t0);
  ASSERT_FALSE(std::isnan(failovers_before));
  ASSERT_FALSE(std::isnan(durations_before));
  ASSERT_EQ(by_reason_before.size(), 6u) << "every reason exists from the start";

  // 1. switchover
  std::string leader = Leader();
  std::string target = leader == "ams-3" ? "ams-0" : "ams-3";
  std::string out;
  ASSERT_EQ(
      cluster_->RunCli("switchover", "--cluster prod --to " + target + " --timeout 10s", &out), 0)
      << out;
  ASSERT_TRUE(WaitForNewLeader(leader, seconds(10)));
  ASSERT_EQ(Leader(), target);
  std::this_thread::sleep_for(milliseconds(1500));

  // 2. pod_deleted
  leader = Leader();
  cluster_->DeletePod(IndexOf(leader), /*grace_seconds=*/2);
  ASSERT_TRUE(WaitForNewLeader(leader, seconds(10)));
  std::this_thread::sleep_for(milliseconds(1500));

  // 3. not_ready
  leader = Leader();
  cluster_->SetReady(IndexOf(leader), false);
  ASSERT_TRUE(WaitForNewLeader(leader, seconds(10)));
  std::this_thread::sleep_for(milliseconds(1500));

  // 4. probe_failed: the pod stays Ready, its AMS stops answering.
  const std::string dead = Leader();
  cluster_->KillAms(IndexOf(dead));
  ASSERT_TRUE(WaitForNewLeader(dead, seconds(10)));
  std::this_thread::sleep_for(milliseconds(1500));

  // 5. not_ready with nobody to take over: the lease is released and no pod
  // is routed while pods exist (the data of AmsHaNoLeaderRouted). The dead
  // pod goes NotReady first so that it is no candidate.
  const std::string last = Leader();
  cluster_->SetReady(IndexOf(dead), false);
  std::this_thread::sleep_for(milliseconds(1000));
  cluster_->SetReady(IndexOf(last), false);
  ASSERT_TRUE(E2eCluster::WaitUntil([&] { return cluster_->Routed().empty(); }, seconds(10)));
  EXPECT_TRUE(prometheus_->WaitForData(AlertExpr("AmsHaNoLeaderRouted"), seconds(15)))
      << "no leader routed while pods exist";
  // The same pod comes back: it takes its own lease back, no failover.
  cluster_->SetReady(IndexOf(last), true);
  ASSERT_TRUE(
      E2eCluster::WaitUntil([&] { return cluster_->Agrees() && Leader() == last; }, seconds(10)));
  EXPECT_TRUE(prometheus_->WaitForData(AlertExpr("AmsHaFrequentFailovers"), seconds(10)));

  // Kubernetes API errors: the watches are cut and their reconnects fail.
  StandinFault fault;
  fault.count = 6;
  fault.code = 500;
  ASSERT_TRUE(cluster_->standin().InjectFault(fault).ok());
  cluster_->standin().CutWatches();
  EXPECT_TRUE(
      prometheus_->WaitForData("sum(ams_ha_kube_requests_total{code!~\"2..\"}) > 0", seconds(20)));
  cluster_->standin().ClearFaults();

  // Renewals failing: the AMS row silently refuses updates, so every renewal
  // is a conflict; the controller keeps routing the leader.
  auto admin = SqlSession::Open(cluster_->postgres().admin_url());
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  ASSERT_TRUE((*admin)
                  ->Exec("CREATE FUNCTION amsha_test_refuse() RETURNS trigger LANGUAGE plpgsql "
                         "AS $$ BEGIN RETURN NULL; END $$")
                  .ok());
  ASSERT_TRUE((*admin)
                  ->Exec("CREATE TRIGGER amsha_test_refuse BEFORE UPDATE ON ha_lease FOR EACH ROW "
                         "WHEN (OLD.service_name = 'AMS') EXECUTE FUNCTION amsha_test_refuse()")
                  .ok());
  EXPECT_TRUE(prometheus_->WaitForData(AlertExpr("AmsHaLeaseRenewalsFailing"), seconds(25)))
      << "renewals failing";
  ASSERT_TRUE((*admin)->Exec("DROP TRIGGER amsha_test_refuse ON ha_lease").ok());
  admin->reset();
  ASSERT_TRUE(E2eCluster::WaitUntil([&] { return cluster_->Agrees(); }, seconds(10)));
  EXPECT_EQ(Leader(), last) << "refused renewals are no failover";

  // The database goes away: both replicas report it, and past the renew
  // deadline neither is active.
  ASSERT_TRUE(cluster_->postgres().Stop().ok());
  EXPECT_TRUE(prometheus_->WaitForData(AlertExpr("AmsHaDatabaseUnreachable"), seconds(15)));
  EXPECT_TRUE(prometheus_->WaitForData(AlertExpr("AmsHaNoActiveController"), seconds(15)));
  ASSERT_TRUE(cluster_->postgres().Start().ok());
  ASSERT_TRUE(E2eCluster::WaitUntil([&] { return cluster_->Agrees(); }, seconds(20)));
  EXPECT_EQ(Leader(), last) << "a database outage is no failover";
  ASSERT_TRUE(prometheus_->WaitForData("max(ams_ha_controller_active) == 1", seconds(15)));
  std::this_thread::sleep_for(seconds(3));  // a few more scrapes of the healthy state
  const double t1 = UnixNow();

  // Exactly the five failovers caused, by reason, each timed.
  EXPECT_EQ(prometheus_->Scalar(kFailovers, t1) - failovers_before, 5.0);
  std::map<std::string, double> by_reason = prometheus_->ByLabel(kByReason, "reason", t1);
  const std::map<std::string, double> expected = {{"switchover", 1},    {"pod_deleted", 1},
                                                  {"not_ready", 2},     {"probe_failed", 1},
                                                  {"lease_expired", 0}, {"foreign_expired", 0}};
  for (const auto& [reason, count] : expected) {
    EXPECT_EQ(by_reason[reason] - by_reason_before.at(reason), count) << reason;
  }
  EXPECT_EQ(prometheus_->Scalar(kDurations, t1) - durations_before, 5.0);
  EXPECT_EQ(prometheus_->Scalar(kUnderAMinute, t1) - under_a_minute_before, 5.0)
      << "each failover took less than a minute";
  // One leader series, the current leader's.
  auto leaders = prometheus_->Query("ams_ha_leader_info{cluster=\"prod\"} == 1", t1);
  ASSERT_TRUE(leaders.ok()) << leaders.status().ToString();
  ASSERT_EQ(leaders->as_array().size(), 1u) << leaders->serialize();
  EXPECT_EQ(leaders->as_array().at(0).at("metric").at("pod").as_string(), last);

  // Every dashboard and alert expression returns data over the test.
  const int range = static_cast<int>(std::ceil(t1 - t0));
  ASSERT_GE(DashboardExpressions(range).size(), 20u);
  ASSERT_EQ(AlertExpressions().size(), 6u);
  for (const Expression& e : DashboardExpressions(range)) {
    auto result = prometheus_->QueryRange(e.expr, t0, t1);
    ASSERT_TRUE(result.ok()) << e.where << ": " << result.status().ToString();
    EXPECT_FALSE(result->as_array().size() == 0) << e.where << " returned no data: " << e.expr;
  }
  for (const Expression& e : AlertExpressions()) {
    auto result = prometheus_->QueryRange(e.expr, t0, t1);
    ASSERT_TRUE(result.ok()) << e.where << ": " << result.status().ToString();
    if (e.where == "AmsHaTwoPodsRouted") {
      // Valid and empty: nothing is the healthy answer, and the controller
      // never routes two pods.
      EXPECT_TRUE(result->as_array().size() == 0) << result->serialize();
      continue;
    }
    EXPECT_FALSE(result->as_array().size() == 0) << "alert " << e.where << " never had data";
  }

  // Prometheus loaded the rules and evaluated each without error.
  auto rules = prometheus_->Api("rules", {});
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  int evaluated = 0;
  for (const auto& group : rules->at("groups").as_array()) {
    for (const auto& rule : group.at("rules").as_array()) {
      EXPECT_EQ(rule.at("health").as_string(), "ok")
          << rule.at("name").as_string() << ": " << rule.serialize();
      ++evaluated;
    }
  }
  EXPECT_EQ(evaluated, static_cast<int>(AlertExpressions().size()));

  // Never a password or token in a log line, whatever failed above.
  std::string logs = cluster_->Logs();
  EXPECT_EQ(logs.find(cluster_->postgres().password()), std::string::npos);
  EXPECT_EQ(logs.find(cluster_->standin().token()), std::string::npos);
  EXPECT_NE(logs.find("leader elected"), std::string::npos);
}

TEST_F(PrometheusE2eTest, EachReplicaServesMetricsPromtoolAcceptsAndHonestHealth) {
  StartCluster(E2eOptions{});
  std::vector<int> ports = MetricsPorts();
  ASSERT_TRUE(
      E2eCluster::WaitUntil([&] { return !cluster_->ActiveController().empty(); }, seconds(10)));
  int active = 0;
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string who = "ctl-" + std::to_string(i);
    AdminResponse metrics = PlainHttp(ports[i], "GET", "/metrics", "");
    ASSERT_EQ(metrics.code, 200) << who;
    EXPECT_NE(metrics.head.find("text/plain; version=0.0.4"), std::string::npos) << metrics.head;
    std::string file = cluster_->dir() + "/" + who + ".prom";
    std::ofstream(file) << metrics.body;
    std::string out;
    EXPECT_EQ(RunCommand("promtool check metrics < '" + file + "'", &out), 0) << who << ": " << out;
    EXPECT_EQ(out, "") << "promtool lint findings for " << who;
    std::string series = "ams_ha_controller_active{identity=\"" + who + "\"} ";
    size_t at = metrics.body.find(series);
    ASSERT_NE(at, std::string::npos) << who << " (standbys export too)";
    active += metrics.body.compare(at + series.size(), 1, "1") == 0;

    AdminResponse live = PlainHttp(ports[i], "GET", "/healthz", "");
    EXPECT_EQ(live.code, 200) << who;
    EXPECT_EQ(live.body, "ok: 2 loops turning\n") << who;
    ASSERT_TRUE(E2eCluster::WaitUntil(
        [&] { return PlainHttp(ports[i], "GET", "/readyz", "").code == 200; }, seconds(10)));
    EXPECT_EQ(PlainHttp(ports[i], "GET", "/readyz", "").body,
              "ready: config, database, pod watch prod\n");
  }
  EXPECT_EQ(active, 1) << "exactly one replica is active";

  // Without the database both replicas say why they are not ready, and stay
  // alive: their loops still turn.
  ASSERT_TRUE(cluster_->postgres().Stop().ok());
  for (int port : ports) {
    ASSERT_TRUE(E2eCluster::WaitUntil(
        [&] { return PlainHttp(port, "GET", "/readyz", "").code == 503; }, seconds(15)));
    AdminResponse ready = PlainHttp(port, "GET", "/readyz", "");
    EXPECT_EQ(ready.body.rfind("not ready: database: ", 0), 0u) << ready.body;
    EXPECT_EQ(PlainHttp(port, "GET", "/healthz", "").code, 200);
  }
  ASSERT_TRUE(cluster_->postgres().Start().ok());
  for (int port : ports) {
    EXPECT_TRUE(E2eCluster::WaitUntil(
        [&] { return PlainHttp(port, "GET", "/readyz", "").code == 200; }, seconds(15)));
  }
}

}  // namespace
}  // namespace amsha::testing
