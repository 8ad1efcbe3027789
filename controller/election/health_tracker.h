// HealthTracker: what this controller has observed about each pod's health.
//
// Remembers, per pod UID, since when (local monotonic clock) the pod has
// been NotReady and how many probes in a row failed, so that the elector
// can apply notReadyGracePeriod and probe.failureThreshold. The grace is
// timed from this controller's own observation, never from another
// machine's timestamps; after a controller restart it starts again, which
// delays a failover but never causes one. Also remembers every UID it has
// seen in the cluster, so that a lease naming a pod that has since vanished
// is recognised as ours. A freshly elected leader can be given a probe
// grace (probe.startupGracePeriod): failed probes before its end are not
// counted, so a JVM that is still starting is not failed over in a loop.
// Thread-safe: the pod watcher, the prober and the elector call it from
// different threads.
#ifndef AMS_HA_ELECTION_HEALTH_TRACKER_H_
#define AMS_HA_ELECTION_HEALTH_TRACKER_H_

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kube/kube_types.h"

namespace amsha {

class HealthTracker {
 public:
  explicit HealthTracker(const Clock* clock) : clock_(clock) {}

  // Updates readiness from a snapshot of the cluster's pods.
  void ObservePods(const std::vector<Pod>& pods);
  // Records one probe of `uid`. A failure before the pod's probe grace ends
  // is not counted (returns false); a success always clears the count.
  bool RecordProbe(const std::string& uid, bool ok);
  // Failed probes of `uid` do not count until `until` (monotonic). Replaces
  // any earlier grace of that pod and clears its failure count.
  void GraceProbes(const std::string& uid, MonoTime until);

  // Since when `uid` has been seen NotReady (nullopt while Ready or unknown).
  std::optional<MonoTime> NotReadySince(const std::string& uid) const;
  int ConsecutiveProbeFailures(const std::string& uid) const;
  bool EverSeen(const std::string& uid) const;

 private:
  struct State {
    std::optional<MonoTime> not_ready_since;
    int probe_failures = 0;
    std::optional<MonoTime> probe_grace_until;
  };
  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, State> states_;
  std::set<std::string> seen_;
};

}  // namespace amsha

#endif  // AMS_HA_ELECTION_HEALTH_TRACKER_H_
