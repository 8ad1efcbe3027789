// MetricsSink: the narrow interface through which the core reports what it
// does. The Prometheus adapter (prometheus_metrics.h) implements it for the
// process; tests use RecordingMetricsSink or NullMetricsSink. Label values
// are bounded: cluster names from the config, reasons from a fixed set, pod
// names of the cluster's current leader only.
// Thread safety: implementations must accept calls from any thread.
#ifndef AMS_HA_METRICS_METRICS_SINK_H_
#define AMS_HA_METRICS_METRICS_SINK_H_

#include <string>

namespace amsha {

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;

  // ams_ha_leader_info{cluster,pod,node_id} = 1; an empty pod clears it.
  virtual void SetLeader(const std::string& cluster, const std::string& pod,
                         const std::string& node_id) = 0;
  // ams_ha_leader_transitions_total{cluster}.
  virtual void LeaderTransition(const std::string& cluster) = 0;
  // ams_ha_failovers_total{cluster,reason} and
  // ams_ha_failover_duration_seconds{cluster}: from detecting the loss to the
  // Service selecting the new leader.
  virtual void Failover(const std::string& cluster, const std::string& reason, double seconds) = 0;
  // ams_ha_lease_renewals_total{cluster,result}: ok, conflict, error.
  virtual void LeaseRenewal(const std::string& cluster, const std::string& result) = 0;
  // ams_ha_lease_expiry_timestamp_seconds{cluster}.
  virtual void LeaseExpiry(const std::string& cluster, double unix_seconds) = 0;
  // ams_ha_routed_pods{cluster}.
  virtual void RoutedPods(const std::string& cluster, int pods) = 0;
  // ams_ha_foreign_lease_holder{cluster}: 1 while an unexpired lease is held
  // by a node that is not one of the cluster's pods.
  virtual void ForeignHolder(const std::string& cluster, bool present) = 0;
  // ams_ha_leader_unreachable{ams_cluster}: 1 while this controller's probe
  // of the leader fails but the leader's gate reports its AMS serving.
  virtual void LeaderUnreachable(const std::string& cluster, bool unreachable) = 0;
  // ams_ha_controller_active{identity}.
  virtual void ControllerActive(const std::string& identity, bool active) = 0;
  // ams_ha_db_up and ams_ha_db_errors_total.
  virtual void DatabaseUp(bool up) = 0;
  virtual void DatabaseError() = 0;
  // ams_ha_kube_requests_total{verb,code}, ams_ha_kube_request_duration_seconds{verb}.
  virtual void KubeRequest(const std::string& verb, int code, double seconds) = 0;
};

class NullMetricsSink : public MetricsSink {
 public:
  void SetLeader(const std::string&, const std::string&, const std::string&) override {}
  void LeaderTransition(const std::string&) override {}
  void Failover(const std::string&, const std::string&, double) override {}
  void LeaseRenewal(const std::string&, const std::string&) override {}
  void LeaseExpiry(const std::string&, double) override {}
  void RoutedPods(const std::string&, int) override {}
  void ForeignHolder(const std::string&, bool) override {}
  void LeaderUnreachable(const std::string&, bool) override {}
  void ControllerActive(const std::string&, bool) override {}
  void DatabaseUp(bool) override {}
  void DatabaseError() override {}
  void KubeRequest(const std::string&, int, double) override {}
};

}  // namespace amsha

#endif  // AMS_HA_METRICS_METRICS_SINK_H_
