// HealthTracker: what this controller has observed about each pod's health.
//
// Remembers, per pod UID, since when (local monotonic clock) the pod has
// been NotReady and how many probes in a row failed, so that the elector
// can apply notReadyGracePeriod and probe.failureThreshold. The grace is
// timed from this controller's own observation, never from another
// machine's timestamps; after a controller restart it starts again, which
// delays a failover but never causes one. Also remembers every UID it has
// seen in the cluster, so that a lease naming a pod that has since vanished
// is recognised as ours.
//
// Probe history belongs to a term (one pod holding the lease, from its
// election or adoption until the lease leaves it): StartTerm() and EndTerm()
// clear the failure count, so failures collected in one term can never
// judge the pod in another. EndTerm() keeps one bit, "failed when it last
// led", which only orders candidates. While a term is starting (its AMS has
// not answered yet: no successful probe and no "serving" report from its
// gate) and the elector says the start is legitimate (SetStarting), failed
// probes are not counted, until the term's start cap
// (probe.startupGracePeriod) passes.
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
  // Records one probe of `uid`. A failure while the pod's term is starting
  // (see SetStarting) is not counted (returns false); a success always
  // clears the count and marks the term as served.
  bool RecordProbe(const std::string& uid, bool ok);

  // A new term of `uid` begins: clean failure count, not served yet,
  // starting until the pod serves or `start_cap` (monotonic) passes.
  void StartTerm(const std::string& uid, MonoTime start_cap);
  // The lease left `uid`: its failures belong to the term that ended. They
  // are kept only as FailedWhenLastLed().
  void EndTerm(const std::string& uid);
  // Whether the elector currently judges the pod's AMS start legitimate
  // (its gate is starting AMS or waiting for the previous AMS to stop; or
  // there is no gate to ask). Failures are not counted while this is set,
  // the term has not served and its start cap has not passed.
  void SetStarting(const std::string& uid, bool starting);
  // The pod's AMS answered in this term (its gate reported "serving").
  void MarkServed(const std::string& uid);

  // Since when `uid` has been seen NotReady (nullopt while Ready or unknown).
  std::optional<MonoTime> NotReadySince(const std::string& uid) const;
  int ConsecutiveProbeFailures(const std::string& uid) const;
  // True while the current term is within its start: not served, its cap
  // not passed, and SetStarting(true).
  bool InStart(const std::string& uid) const;
  bool Served(const std::string& uid) const;
  // True when the pod's last term ended with failed probes.
  bool FailedWhenLastLed(const std::string& uid) const;
  bool EverSeen(const std::string& uid) const;

 private:
  struct State {
    std::optional<MonoTime> not_ready_since;
    int probe_failures = 0;
    std::optional<MonoTime> start_cap;
    bool starting = false;
    bool served = false;
    bool failed_last_term = false;
  };
  bool InStartLocked(const State& state, MonoTime now) const;

  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, State> states_;
  std::set<std::string> seen_;
};

}  // namespace amsha

#endif  // AMS_HA_ELECTION_HEALTH_TRACKER_H_
