// RecordingMetricsSink: a MetricsSink that remembers what it was told, for
// assertions in unit tests. Thread-safe.
#ifndef AMS_HA_TESTS_SUPPORT_RECORDING_METRICS_SINK_H_
#define AMS_HA_TESTS_SUPPORT_RECORDING_METRICS_SINK_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/metrics_sink.h"

namespace amsha::testing {

class RecordingMetricsSink : public MetricsSink {
 public:
  void SetLeader(const std::string& cluster, const std::string& pod, const std::string&) override {
    std::lock_guard<std::mutex> l(mu_);
    leader[cluster] = pod;
  }
  void LeaderTransition(const std::string& cluster) override {
    std::lock_guard<std::mutex> l(mu_);
    ++transitions[cluster];
  }
  void Failover(const std::string& cluster, const std::string& reason, double seconds) override {
    std::lock_guard<std::mutex> l(mu_);
    failovers.push_back(cluster + "/" + reason);
    failover_seconds.push_back(seconds);
  }
  void LeaseRenewal(const std::string& cluster, const std::string& result) override {
    std::lock_guard<std::mutex> l(mu_);
    ++renewals[cluster + "/" + result];
  }
  void LeaseExpiry(const std::string& cluster, double s) override {
    std::lock_guard<std::mutex> l(mu_);
    expiry[cluster] = s;
  }
  void RoutedPods(const std::string& cluster, int pods) override {
    std::lock_guard<std::mutex> l(mu_);
    routed[cluster] = pods;
  }
  void ForeignHolder(const std::string& cluster, bool present) override {
    std::lock_guard<std::mutex> l(mu_);
    foreign[cluster] = present;
  }
  void LeaderUnreachable(const std::string& cluster, bool unreachable) override {
    std::lock_guard<std::mutex> l(mu_);
    leader_unreachable[cluster] = unreachable;
  }
  void ControllerActive(const std::string& identity, bool active) override {
    std::lock_guard<std::mutex> l(mu_);
    controller_active[identity] = active;
  }
  void DatabaseUp(bool up) override {
    std::lock_guard<std::mutex> l(mu_);
    db_up = up;
  }
  void DatabaseError() override {
    std::lock_guard<std::mutex> l(mu_);
    ++db_errors;
  }
  void KubeRequest(const std::string& verb, int code, double) override {
    std::lock_guard<std::mutex> l(mu_);
    ++kube_requests[verb + "/" + std::to_string(code)];
  }

  std::map<std::string, std::string> leader;
  std::map<std::string, int> transitions;
  std::vector<std::string> failovers;
  std::vector<double> failover_seconds;
  std::map<std::string, int> renewals;
  std::map<std::string, double> expiry;
  std::map<std::string, int> routed;
  std::map<std::string, bool> foreign;
  std::map<std::string, bool> leader_unreachable;
  std::map<std::string, bool> controller_active;
  bool db_up = false;
  int db_errors = 0;
  std::map<std::string, int> kube_requests;

 private:
  std::mutex mu_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_RECORDING_METRICS_SINK_H_
