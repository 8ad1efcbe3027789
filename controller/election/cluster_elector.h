// ClusterElector: the lease loop for one AMS cluster, as one non-sleeping
// step function.
//
// Each Step() reads the cluster's `ha_lease` row (service "AMS"), judges the
// holder pod against what the controller sees (pods, readiness, probes) and
// makes at most one conditional write:
//   - renew the lease of a live holder every heartbeatInterval;
//   - hand it over at once when the holder is lost (deleted or terminating,
//     NotReady past notReadyGracePeriod, probe.failureThreshold failures),
//     or to the pod named in a switchover request;
//   - acquire an empty or expired lease for the holder if it is alive (no
//     preemption), else for the candidate that has been Ready longest;
//   - leave a holder that is not one of our pods alone while its lease is
//     unexpired.
// The outcome says where traffic must go. Only a row the database confirmed
// in this step is ever routed to; when the database cannot be reached the
// outcome says "keep the current routing". Time comes from the injected
// Clock; lease expiry is judged by the database clock (LeaseRecord).
// A pod it elects (or a holder it adopts after Reset) starts a term:
// probe history of earlier terms never judges it, and failed probes do not
// count while its AMS starts (HealthTracker). When a term ends (hand-over,
// release, expiry) its failures only make the pod come last among
// candidates: a Ready pod is never kept from being elected by them.
//
// In `mode: follow` AMS elects itself (Amoro's ha.type: database) and the
// step only reads: it routes to the one pod whose IP is the unexpired
// holder's node_ip, routes none while the row is empty or expired, and
// reports a holder whose node_ip matches no pod, or several, as foreign.
// It never writes: no Acquire, Renew, HandOver, Release or service rows.
// Thread-compatible: one thread drives one elector.
#ifndef AMS_HA_ELECTION_CLUSTER_ELECTOR_H_
#define AMS_HA_ELECTION_CLUSTER_ELECTOR_H_

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "election/gate_report.h"
#include "election/health_tracker.h"
#include "kube/kube_types.h"
#include "lease/lease_store.h"

namespace amsha {

// Why the leader changed (the `reason` label of ams_ha_failovers_total).
enum class FailoverReason {
  kPodDeleted,
  kNotReady,
  kProbeFailed,
  kSwitchover,
  kLeaseExpired,
  kForeignExpired,
  kGateLost,  // the leader's gate stopped renewing its row (dead, or cut off)
};
const char* FailoverReasonName(FailoverReason reason);

enum class RenewResult { kNone, kOk, kConflict, kError };

struct ElectionOutcome {
  enum class Routing {
    kKeep,       // the database could not confirm anything: change nothing
    kRouteTo,    // route to `leader`, confirmed by the database in this step
    kRouteNone,  // no pod may receive traffic
  };
  Routing routing = Routing::kKeep;
  std::optional<Pod> leader;
  std::optional<LeaseRecord> record;  // the row after this step, when known

  // Set when this step moved the lease to another holder.
  bool transitioned = false;
  // Set for a transition away from a previous holder (not for the first
  // election of a cluster).
  std::optional<FailoverReason> reason;
  std::string previous_node_id;
  std::string previous_pod;  // its pod name, when known

  RenewResult renew = RenewResult::kNone;
  // The controller's probe of the leader fails probe.failureThreshold times
  // in a row while the leader's gate, alive, reports its AMS serving from
  // inside the pod: the fault is between the controller and the pod, and
  // the leader is kept.
  bool leader_unreachable = false;
  // node_id of an unexpired holder that is not one of our pods.
  std::optional<std::string> foreign_holder;
  // A switchover request that cannot be honoured, and why.
  std::optional<std::string> switchover_rejected;
  // What happened, for the log ("renewed", "waiting: leader NotReady for 2s
  // of a 5s grace", ...).
  std::string summary;
  // Not OK when a store call failed; transient codes mean "retry".
  Status status;
};

class ClusterElector {
 public:
  ClusterElector(ClusterConfig config, LeaseStore* store, const Clock* clock,
                 HealthTracker* health);

  // `pods`: every pod matching the cluster's selector now. `switchover_to`:
  // the pod name of a pending switchover request.
  ElectionOutcome Step(const std::vector<Pod>& pods,
                       const std::optional<std::string>& switchover_to = std::nullopt);

  // Forgets local timing (call on becoming the active controller): the next
  // step renews a live holder at once, adopting the row's holder and version.
  void Reset();

  const ClusterConfig& config() const { return config_; }
  LeaseKey key() const { return {config_.name, kAmsServiceName}; }

 private:
  enum class Health { kAlive, kSuspect, kLost };
  struct Judgement {
    Health health;
    FailoverReason reason = FailoverReason::kPodDeleted;
    std::string why;
    bool unreachable = false;
  };
  // What the gate row (cluster, AMS_GATE) says about the holder's AMS.
  enum class GateView {
    kNone,      // no gate row at all: AMS is not under the gate (fallback)
    kWaiting,   // another pod's live gate holds the row: the holder's gate
                // waits for that AMS to stop
    kFree,      // the row is expired or released: no live gate holds it
    kLapsed,    // ... and it was the holder's own gate's row, seen live in
                // this term: that gate let it lapse, so (by the gate's fence)
                // its AMS is dead
    kStarting,  // the holder's live gate holds it and is starting AMS
    kServing,   // ... and its local probe of AMS answers
    kStopped,   // ... and AMS is not running (stopped, stopping, unresponsive)
  };
  StatusOr<GateView> ObserveGate(const Pod& holder);
  Judgement Judge(const Pod* holder, GateView gate = GateView::kNone) const;
  std::chrono::milliseconds GateWindow() const;
  std::vector<const Pod*> Candidates(const std::vector<Pod>& pods,
                                     const std::string& exclude_uid) const;
  ElectionOutcome TakeEmpty(const LeaseRecord* record, const std::vector<Pod>& pods,
                            const Pod* holder, bool ours);
  ElectionOutcome ReplaceHolder(const LeaseRecord& record, const Pod* holder, const Pod* successor,
                                FailoverReason reason);
  ElectionOutcome RenewHolder(const LeaseRecord& record, const Pod& holder);
  void MaybePublish(ElectionOutcome& outcome);
  ElectionOutcome Follow(const std::optional<LeaseRecord>& record, const std::vector<Pod>& pods);
  void StartTerm(const Pod& leader);
  void EndTerm(const std::string& uid);

  ClusterConfig config_;
  LeaseStore* store_;
  const Clock* clock_;
  HealthTracker* health_;
  std::optional<MonoTime> last_renew_;  // of the current holder, by this process
  std::string renewed_node_id_;
  std::string published_node_id_;
  // Set by Reset(): the next live holder found gets a probe grace.
  bool grace_adopted_holder_ = true;
  // Follow mode: the pod last routed to ("" for none) and its holder row.
  std::string followed_uid_;
  std::string followed_pod_;
  std::string followed_node_id_;
  bool adopting_ = true;  // the first follow step after Reset announces nothing
  // Since when (this process's clock, on successive successful reads) the
  // holder `gate_free_uid_` has had no live gate row.
  std::optional<MonoTime> gate_free_since_;
  std::string gate_free_uid_;
  // The holder whose own gate this elector has seen holding the gate row
  // live in its current term ("" for none).
  std::string gate_seen_live_uid_;
};

}  // namespace amsha

#endif  // AMS_HA_ELECTION_CLUSTER_ELECTOR_H_
