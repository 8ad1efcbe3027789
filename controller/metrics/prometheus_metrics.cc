// The prometheus-cpp adapter: the only controller file that includes it.
#include "metrics/prometheus_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <mutex>
#include <utility>

#include "common/logging.h"
#include "metrics/process_stats.h"

namespace amsha {
namespace {

namespace pm = prometheus;

// Label names. None may be a target label that Prometheus or the Prometheus
// Operator puts on every scraped sample (namespace, service, pod, container,
// endpoint, job, instance), nor `cluster` (the usual label for the
// Kubernetes cluster in multi-cluster setups): with honor_labels false such
// a label would be renamed exported_<name> and the target's value (the
// controller pod) would take its place. A unit test scrapes every series and
// checks this.
constexpr char kClusterLabel[] = "ams_cluster";   // the AMS cluster (ha_lease.cluster_name)
constexpr char kLeaderPodLabel[] = "leader_pod";  // the AMS leader pod

// The `reason` label: FailoverReasonName() of every FailoverReason (a unit
// test keeps the two lists equal).
const char* const kFailoverReasons[] = {"pod_deleted", "not_ready",     "probe_failed",
                                        "switchover",  "lease_expired", "foreign_expired",
                                        "gate_lost"};
const char* const kRenewalResults[] = {"ok", "conflict", "error"};
// The request/response verbs of RestKubeApi (watch streams are not timed).
const char* const kTimedKubeVerbs[] = {"list", "get", "patch", "create"};

// From a fast hand-over on a warm pod cache (tens of ms) to a lease that had
// to expire (tens of seconds).
const pm::Histogram::BucketBoundaries kFailoverBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                          2.5,  5,     10,   20,  30,   60};
const pm::Histogram::BucketBoundaries kKubeBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10,  30};

pm::MetricFamily OneValue(const char* name, const char* help, pm::MetricType type, double value) {
  pm::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  pm::ClientMetric metric;
  if (type == pm::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

// A metric that cannot be recorded (the library throws only on invalid
// names or out of memory) is dropped: observability never stops the loop.
template <typename F>
void Safely(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    Log(LogLevel::kDebug, "metric not recorded", {{"metric", what}, {"error", e.what()}});
  }
}

}  // namespace

struct PrometheusMetrics::Impl {
  explicit Impl(Options opts)
      : options(std::move(opts)),
        leader_info(pm::BuildGauge()
                        .Name("ams_ha_leader_info")
                        .Help("1 for the pod this replica routes the cluster's ams-leader Service "
                              "to, with its ha_lease node_id; absent while no pod is routed")
                        .Register(registry)),
        transitions(pm::BuildCounter()
                        .Name("ams_ha_leader_transitions_total")
                        .Help("Times the cluster's lease moved to another holder, first "
                              "elections included")
                        .Register(registry)),
        failovers(pm::BuildCounter()
                      .Name("ams_ha_failovers_total")
                      .Help("Times the leader was replaced, by reason: pod_deleted, not_ready, "
                            "probe_failed, switchover, lease_expired, foreign_expired, gate_lost")
                      .Register(registry)),
        failover_duration(pm::BuildHistogram()
                              .Name("ams_ha_failover_duration_seconds")
                              .Help("From the step that detected the leader's loss to the "
                                    "Service selecting the new leader")
                              .Register(registry)),
        last_failover(pm::BuildGauge()
                          .Name("ams_ha_last_failover_timestamp_seconds")
                          .Help("Unix time of the last failover this replica performed; 0 for "
                                "none since it started")
                          .Register(registry)),
        renewals(pm::BuildCounter()
                     .Name("ams_ha_lease_renewals_total")
                     .Help("Lease renewals on behalf of the leader pod, by result: ok, conflict "
                           "(the row moved), error")
                     .Register(registry)),
        expiry(pm::BuildGauge()
                   .Name("ams_ha_lease_expiry_timestamp_seconds")
                   .Help("Unix time at which the cluster's lease expires, by the database clock, "
                         "as last read")
                   .Register(registry)),
        routed(pm::BuildGauge()
                   .Name("ams_ha_routed_pods")
                   .Help("Pods the ams-leader Service selects after this replica's last routing "
                         "(healthy: 1; meaningful on the active controller)")
                   .Register(registry)),
        pods(pm::BuildGauge()
                 .Name("ams_ha_pods")
                 .Help("Pods matching the cluster's pod selector in the controller's watch cache")
                 .Register(registry)),
        ready_pods(pm::BuildGauge()
                       .Name("ams_ha_ready_pods")
                       .Help("Pods matching the cluster's pod selector that are Ready and not "
                             "terminating")
                       .Register(registry)),
        foreign(pm::BuildGauge()
                    .Name("ams_ha_foreign_lease_holder")
                    .Help("1 while an unexpired lease is held by a node that is not one of the "
                          "cluster's pods (nothing is routed meanwhile)")
                    .Register(registry)),
        no_campaign(pm::BuildGauge()
                        .Name("ams_ha_no_ams_campaigning")
                        .Help("Follow mode: 1 while no AMS has held the lease for longer than "
                              "leaseTtl although Ready AMS pods exist (none campaigns; restart "
                              "them)")
                        .Register(registry)),
        unreachable(pm::BuildGauge()
                        .Name("ams_ha_leader_unreachable")
                        .Help("1 while this controller cannot reach the leader's REST port but "
                              "the leader's gate reports its AMS serving: the leader is kept")
                        .Register(registry)),
        active(pm::BuildGauge()
                   .Name("ams_ha_controller_active")
                   .Help("1 when this replica is the active controller, 0 on a standby")
                   .Register(registry)),
        db_up(pm::BuildGauge()
                  .Name("ams_ha_db_up")
                  .Help("1 when this replica's last database call reached PostgreSQL")
                  .Register(registry)
                  .Add({})),
        lease_listening(pm::BuildGauge()
                            .Name("ams_ha_lease_listening")
                            .Help("1 while the active replica listens for lease changes "
                                  "(PostgreSQL NOTIFY); 0 while it reads every cluster's rows "
                                  "on every pass instead, on a standby, and on MySQL")
                            .Register(registry)
                            .Add({})),
        db_errors(pm::BuildCounter()
                      .Name("ams_ha_db_errors_total")
                      .Help("Database calls that failed because PostgreSQL was unreachable")
                      .Register(registry)
                      .Add({})),
        kube_requests(pm::BuildCounter()
                          .Name("ams_ha_kube_requests_total")
                          .Help("Kubernetes API requests by verb and HTTP status (0: no "
                                "response: connection refused, timeout, TLS failure)")
                          .Register(registry)),
        kube_duration(pm::BuildHistogram()
                          .Name("ams_ha_kube_request_duration_seconds")
                          .Help("Duration of Kubernetes API requests by verb (watch streams "
                                "are not timed: they stay open for minutes by design)")
                          .Register(registry)) {
    pm::BuildGauge()
        .Name("ams_ha_build_info")
        .Help("1, labelled with the controller's version")
        .Register(registry)
        .Add({{"version", options.version}})
        .Set(1);
    active.Add({{"identity", options.identity}}).Set(0);
    for (const std::string& cluster : options.clusters) {
      transitions.Add({{kClusterLabel, cluster}});
      for (const char* reason : kFailoverReasons) {
        failovers.Add({{kClusterLabel, cluster}, {"reason", reason}});
      }
      failover_duration.Add({{kClusterLabel, cluster}}, kFailoverBuckets);
      last_failover.Add({{kClusterLabel, cluster}});
      for (const char* result : kRenewalResults) {
        renewals.Add({{kClusterLabel, cluster}, {"result", result}});
      }
      expiry.Add({{kClusterLabel, cluster}});
      routed.Add({{kClusterLabel, cluster}});
      pods.Add({{kClusterLabel, cluster}});
      ready_pods.Add({{kClusterLabel, cluster}});
      foreign.Add({{kClusterLabel, cluster}});
      no_campaign.Add({{kClusterLabel, cluster}});
      unreachable.Add({{kClusterLabel, cluster}});
    }
    for (const char* verb : kTimedKubeVerbs) kube_duration.Add({{"verb", verb}}, kKubeBuckets);
  }

  Options options;
  pm::Registry registry;
  pm::Family<pm::Gauge>& leader_info;
  pm::Family<pm::Counter>& transitions;
  pm::Family<pm::Counter>& failovers;
  pm::Family<pm::Histogram>& failover_duration;
  pm::Family<pm::Gauge>& last_failover;
  pm::Family<pm::Counter>& renewals;
  pm::Family<pm::Gauge>& expiry;
  pm::Family<pm::Gauge>& routed;
  pm::Family<pm::Gauge>& pods;
  pm::Family<pm::Gauge>& ready_pods;
  pm::Family<pm::Gauge>& foreign;
  pm::Family<pm::Gauge>& no_campaign;
  pm::Family<pm::Gauge>& unreachable;
  pm::Family<pm::Gauge>& active;
  pm::Gauge& db_up;
  pm::Gauge& lease_listening;
  pm::Counter& db_errors;
  pm::Family<pm::Counter>& kube_requests;
  pm::Family<pm::Histogram>& kube_duration;

  std::mutex mu;
  std::map<std::string, pm::Gauge*> leaders;  // cluster -> its one leader_info series
  bool was_active = false;
  std::vector<std::function<void()>> hooks;
};

PrometheusMetrics::PrometheusMetrics(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

PrometheusMetrics::~PrometheusMetrics() = default;

void PrometheusMetrics::SetLeader(const std::string& cluster, const std::string& pod,
                                  const std::string& node_id) {
  Safely("ams_ha_leader_info", [&] {
    std::lock_guard<std::mutex> lock(impl_->mu);
    pm::Gauge* next = nullptr;
    if (!pod.empty()) {
      next = &impl_->leader_info.Add(
          {{kClusterLabel, cluster}, {kLeaderPodLabel, pod}, {"node_id", node_id}});
      next->Set(1);
    }
    pm::Gauge*& current = impl_->leaders[cluster];
    // Remove the old series at once: a dashboard must never show two leaders.
    if (current != nullptr && current != next) impl_->leader_info.Remove(current);
    current = next;
  });
}

void PrometheusMetrics::LeaderTransition(const std::string& cluster) {
  Safely("ams_ha_leader_transitions_total", [&] {
    impl_->transitions.Add({{kClusterLabel, cluster}}).Increment();
  });
}

void PrometheusMetrics::Failover(const std::string& cluster, const std::string& reason,
                                 double seconds) {
  Safely("ams_ha_failovers_total", [&] {
    impl_->failovers.Add({{kClusterLabel, cluster}, {"reason", reason}}).Increment();
    impl_->failover_duration.Add({{kClusterLabel, cluster}}, kFailoverBuckets).Observe(seconds);
    double now =
        std::chrono::duration<double>(impl_->options.clock->WallNow().time_since_epoch()).count();
    impl_->last_failover.Add({{kClusterLabel, cluster}}).Set(now);
  });
}

void PrometheusMetrics::LeaseRenewal(const std::string& cluster, const std::string& result) {
  Safely("ams_ha_lease_renewals_total", [&] {
    impl_->renewals.Add({{kClusterLabel, cluster}, {"result", result}}).Increment();
  });
}

void PrometheusMetrics::LeaseExpiry(const std::string& cluster, double unix_seconds) {
  Safely("ams_ha_lease_expiry_timestamp_seconds", [&] {
    impl_->expiry.Add({{kClusterLabel, cluster}}).Set(unix_seconds);
  });
}

void PrometheusMetrics::RoutedPods(const std::string& cluster, int pods) {
  Safely("ams_ha_routed_pods", [&] { impl_->routed.Add({{kClusterLabel, cluster}}).Set(pods); });
}

void PrometheusMetrics::ForeignHolder(const std::string& cluster, bool present) {
  Safely("ams_ha_foreign_lease_holder", [&] {
    impl_->foreign.Add({{kClusterLabel, cluster}}).Set(present ? 1 : 0);
  });
}

void PrometheusMetrics::NoCampaign(const std::string& cluster, bool on) {
  Safely("ams_ha_no_ams_campaigning", [&] {
    impl_->no_campaign.Add({{kClusterLabel, cluster}}).Set(on ? 1 : 0);
  });
}

void PrometheusMetrics::LeaderUnreachable(const std::string& cluster, bool unreachable) {
  Safely("ams_ha_leader_unreachable", [&] {
    impl_->unreachable.Add({{kClusterLabel, cluster}}).Set(unreachable ? 1 : 0);
  });
}

void PrometheusMetrics::ControllerActive(const std::string& identity, bool active) {
  Safely("ams_ha_controller_active", [&] {
    impl_->active.Add({{"identity", identity}}).Set(active ? 1 : 0);
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->was_active && !active) {
      // A standby does not route, so it cannot vouch for any leader.
      for (auto& [cluster, gauge] : impl_->leaders) {
        if (gauge != nullptr) impl_->leader_info.Remove(gauge);
        gauge = nullptr;
      }
    }
    impl_->was_active = active;
  });
}

void PrometheusMetrics::DatabaseUp(bool up) { impl_->db_up.Set(up ? 1 : 0); }

void PrometheusMetrics::LeaseListening(bool listening) {
  impl_->lease_listening.Set(listening ? 1 : 0);
}

void PrometheusMetrics::DatabaseError() { impl_->db_errors.Increment(); }

void PrometheusMetrics::KubeRequest(const std::string& verb, int code, double seconds) {
  Safely("ams_ha_kube_requests_total", [&] {
    impl_->kube_requests.Add({{"verb", verb}, {"code", std::to_string(code)}}).Increment();
    if (verb != "watch") impl_->kube_duration.Add({{"verb", verb}}, kKubeBuckets).Observe(seconds);
  });
}

void PrometheusMetrics::ClusterPods(const std::string& cluster, int pods, int ready) {
  Safely("ams_ha_pods", [&] {
    impl_->pods.Add({{kClusterLabel, cluster}}).Set(pods);
    impl_->ready_pods.Add({{kClusterLabel, cluster}}).Set(ready);
  });
}

void PrometheusMetrics::OnScrape(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->hooks.push_back(std::move(hook));
}

std::string PrometheusMetrics::Scrape() {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    hooks = impl_->hooks;
  }
  for (const auto& hook : hooks) hook();
  try {
    std::vector<pm::MetricFamily> families = impl_->registry.Collect();
    ProcessStats p = ReadProcessStats();
    families.push_back(OneValue("process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds",
                                pm::MetricType::Counter, p.cpu_seconds));
    families.push_back(OneValue("process_resident_memory_bytes", "Resident memory size in bytes",
                                pm::MetricType::Gauge, p.resident_bytes));
    families.push_back(OneValue("process_virtual_memory_bytes", "Virtual memory size in bytes",
                                pm::MetricType::Gauge, p.virtual_bytes));
    families.push_back(OneValue("process_start_time_seconds",
                                "Start time of the process since the Unix epoch in seconds",
                                pm::MetricType::Gauge, p.start_time_seconds));
    if (p.open_fds >= 0) {
      families.push_back(OneValue("process_open_fds", "Number of open file descriptors",
                                  pm::MetricType::Gauge, p.open_fds));
    }
    if (p.max_fds >= 0) {
      families.push_back(OneValue("process_max_fds", "Maximum number of open file descriptors",
                                  pm::MetricType::Gauge, p.max_fds));
    }
    return pm::TextSerializer().Serialize(families);
  } catch (const std::exception& e) {
    Log(LogLevel::kWarn, "cannot render metrics", {{"error", e.what()}});
    return "";
  }
}

}  // namespace amsha
