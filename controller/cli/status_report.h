// The `status` command's report: what it collected per cluster, the verdict
// a script acts on (the exit code), and the two renderings (text, JSON).
// Pure functions of the collected state, so every verdict is unit-tested
// without a database or an API server; status_command.cc collects.
//
// Exit codes (README.md, "status"): when several clusters have problems, the
// lowest non-zero code wins (the most severe).
//   0  every cluster has an unexpired leader that is one of its pods, and the
//      Service selects exactly that pod
//   1  status itself failed (database unreachable, bad flags: as every command)
//   3  a cluster has no unexpired leader (no row, or expired)
//   4  a cluster's Service selects no pod
//   5  a cluster's Service selects a pod that is not the lease holder, or
//      more than one pod
//   6  a cluster could not be checked (its lease row or the Kubernetes API
//      could not be read)
// Thread safety: none needed (values and pure functions).
#ifndef AMS_HA_CLI_STATUS_REPORT_H_
#define AMS_HA_CLI_STATUS_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "kube/kube_types.h"
#include "lease/lease_record.h"

namespace amsha {

inline constexpr int kStatusHealthy = 0;
inline constexpr int kStatusNoLeader = 3;
inline constexpr int kStatusNothingRouted = 4;
inline constexpr int kStatusRoutedNotHolder = 5;
inline constexpr int kStatusUnknown = 6;

struct PodLine {
  std::string name, ip, role, ready;
  bool routed = false;
};

struct ClusterStatus {
  std::string name, service;
  ClusterMode mode = ClusterMode::kManage;
  std::optional<LeaseRecord> lease;
  std::string lease_error;
  std::string leader_pod;  // the pod holding the unexpired lease, "" when none
  std::vector<PodLine> pods;
  std::vector<std::string> routed;
  std::string kube_error;
  // Manage mode: the gate row (cluster, AMS_GATE), when a gate wrote one.
  std::optional<LeaseRecord> gate;
  std::string gate_error;
};

struct StatusVerdict {
  int code = kStatusHealthy;
  std::string problem;  // "" when healthy; else one line saying what is wrong
};

// Fills leader_pod, pods and routed from the lease, the pods and the
// Service's selector: manage mode finds the holder by the pod UID in
// node_id, follow mode by node_ip (exactly one pod with that IP).
void ResolvePods(const std::vector<Pod>& pods, const std::vector<std::string>& routed,
                 ClusterStatus* status);

StatusVerdict JudgeCluster(const ClusterStatus& cluster);
// The exit code for all clusters: the lowest non-zero code, else 0.
int StatusExitCode(const std::vector<ClusterStatus>& clusters);

std::string StatusJson(const std::optional<LeaseRecord>& controller_row,
                       const std::vector<ClusterStatus>& clusters);
std::string StatusText(const std::optional<LeaseRecord>& controller_row,
                       const std::vector<ClusterStatus>& clusters);

}  // namespace amsha

#endif  // AMS_HA_CLI_STATUS_REPORT_H_
