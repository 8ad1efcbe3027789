// PrometheusMetrics: the MetricsSink of the controller process, kept in a
// prometheus-cpp registry and rendered in the text exposition format by
// Scrape() for the /metrics endpoint (observability_server.h).
//
// What it exports (HELP text on each; docs/observability.md lists them):
//   ams_ha_leader_info{ams_cluster,leader_pod,node_id}  1 for the leader this replica routed
//   ams_ha_leader_transitions_total{ams_cluster}
//   ams_ha_failovers_total{ams_cluster,reason}
//   ams_ha_failover_duration_seconds{ams_cluster}      histogram, 10 ms .. 60 s
//   ams_ha_last_failover_timestamp_seconds{ams_cluster}
//   ams_ha_lease_renewals_total{ams_cluster,result}
//   ams_ha_lease_expiry_timestamp_seconds{ams_cluster}
//   ams_ha_routed_pods{ams_cluster}, ams_ha_pods{ams_cluster}, ams_ha_ready_pods{ams_cluster}
//   ams_ha_foreign_lease_holder{ams_cluster}
//   ams_ha_no_ams_campaigning{ams_cluster}              follow mode: nobody campaigns
//   ams_ha_leader_unreachable{ams_cluster}               gate vouches, controller cannot reach
//   ams_ha_controller_active{identity}, ams_ha_db_up, ams_ha_db_errors_total,
//   ams_ha_lease_listening
//   ams_ha_kube_requests_total{verb,code}, ams_ha_kube_request_duration_seconds{verb}
//   ams_ha_build_info{version}, process_* (RSS, CPU, start time, descriptors)
// Every per-cluster series of the configured clusters exists from the start
// (counters at 0, every failover reason and renewal result), so dashboards
// never go blank and increase() sees the first failover. Label values stay
// bounded: clusters from the config, reasons and results from fixed sets,
// one leader pod per cluster (the previous leader's series is removed), and
// Kubernetes verbs and status codes. No label is one of the target labels
// the Prometheus Operator adds (namespace, service, pod, container, endpoint,
// job, instance) nor `cluster`: the AMS cluster is `ams_cluster` and the AMS
// leader pod `leader_pod`, so a ServiceMonitor never renames them to
// exported_*. A replica that stops being the active
// controller drops its leader_info series: it no longer knows the leader.
//
// prometheus-cpp is included only by prometheus_metrics.cc; its exceptions
// are caught there (a metric that cannot be recorded is dropped, never
// fatal).
// Thread safety: every method may be called from any thread.
#ifndef AMS_HA_METRICS_PROMETHEUS_METRICS_H_
#define AMS_HA_METRICS_PROMETHEUS_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "metrics/metrics_sink.h"

namespace amsha {

class PrometheusMetrics : public MetricsSink {
 public:
  struct Options {
    std::string version;                    // ams_ha_build_info{version}
    std::string identity;                   // this replica: ams_ha_controller_active{identity}
    std::vector<std::string> clusters;      // series created up front
    const Clock* clock = RealClock::Get();  // wall time of failovers
  };

  explicit PrometheusMetrics(Options options);
  ~PrometheusMetrics() override;
  PrometheusMetrics(const PrometheusMetrics&) = delete;
  PrometheusMetrics& operator=(const PrometheusMetrics&) = delete;

  // MetricsSink.
  void SetLeader(const std::string& cluster, const std::string& pod,
                 const std::string& node_id) override;
  void LeaderTransition(const std::string& cluster) override;
  void Failover(const std::string& cluster, const std::string& reason, double seconds) override;
  void LeaseRenewal(const std::string& cluster, const std::string& result) override;
  void LeaseExpiry(const std::string& cluster, double unix_seconds) override;
  void RoutedPods(const std::string& cluster, int pods) override;
  void ForeignHolder(const std::string& cluster, bool present) override;
  void NoCampaign(const std::string& cluster, bool on) override;
  void LeaderUnreachable(const std::string& cluster, bool unreachable) override;
  void ControllerActive(const std::string& identity, bool active) override;
  void DatabaseUp(bool up) override;
  // ams_ha_lease_listening: set by `run` every retryPeriod (not part of
  // MetricsSink: no loop reports it).
  void LeaseListening(bool listening);
  void DatabaseError() override;
  void KubeRequest(const std::string& verb, int code, double seconds) override;

  // ams_ha_pods{ams_cluster} and ams_ha_ready_pods{ams_cluster}: the pods that match
  // the cluster's selector, and those Ready and not terminating. Sampled, not
  // events: call it from an OnScrape hook.
  void ClusterPods(const std::string& cluster, int pods, int ready);

  // Runs `hook` at the start of every Scrape() (for values read at scrape
  // time, like the pod counts). Register hooks before serving.
  void OnScrape(std::function<void()> hook);

  // The whole registry plus the process_* figures, in the Prometheus text
  // exposition format 0.0.4.
  std::string Scrape();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amsha

#endif  // AMS_HA_METRICS_PROMETHEUS_METRICS_H_
