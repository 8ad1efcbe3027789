// ClusterLoop: the thin loop around ClusterElector and RoutingReconciler for
// one AMS cluster, plus the leader probe.
//
// RunOnce() is one non-sleeping pass: take the pod watcher's snapshot, step
// the election (only while this replica is the active controller), route
// the Service, emit Events, logs and metrics, answer switchover requests,
// and return how long to wait before the next pass. Start() runs passes on
// a thread, woken early by pod changes and failed probes; a second thread
// probes the current leader. Nothing is written until the pod cache has
// synced (an empty cache is not "the leader is gone"), and nothing is
// written to Kubernetes once the replica stops being active: the deadline
// is checked before every request (FencedKubeApi). A 409 on the Service
// starts a new pass at once, which re-reads the lease and decides again. In follow
// mode it neither probes nor reads or answers switchover requests.
// Thread safety: Start/Stop/Wake from any thread; RunOnce from one thread.
#ifndef AMS_HA_ELECTION_CLUSTER_LOOP_H_
#define AMS_HA_ELECTION_CLUSTER_LOOP_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/backoff.h"
#include "common/cancellation.h"
#include "common/clock.h"
#include "config/config.h"
#include "election/cluster_elector.h"
#include "election/controller_elector.h"
#include "election/health_tracker.h"
#include "election/prober.h"
#include "election/switchover.h"
#include "kube/fenced_kube_api.h"
#include "kube/kube_api.h"
#include "kube/pod_watcher.h"
#include "lease/lease_store.h"
#include "metrics/metrics_sink.h"
#include "routing/routing_reconciler.h"

namespace amsha {

class ClusterLoop {
 public:
  struct Deps {
    LeaseStore* store = nullptr;  // used by this loop's thread only
    KubeApi* api = nullptr;
    PodWatcher* watcher = nullptr;
    const ControllerElector* controller = nullptr;
    const Clock* clock = nullptr;
    MetricsSink* metrics = nullptr;
    Prober* prober = nullptr;
  };

  ClusterLoop(const Config& config, ClusterConfig cluster, Deps deps);
  ~ClusterLoop();

  // One pass; returns the time until the next one.
  std::chrono::milliseconds RunOnce();
  // One probe of the current leader (no-op when the probe is disabled or
  // there is no leader); wakes the loop on a failure.
  void ProbeOnce();

  void Start();
  void Stop();
  void Wake();

  // The leader this loop last routed to ("" for none), for status and tests.
  std::string RoutedLeader() const;
  // Time of the last completed pass (for /healthz).
  MonoTime LastPass() const;

 private:
  // Returns the routing's status (kConflict: the Service changed under us).
  Status Act(const ElectionOutcome& outcome, const std::vector<Pod>& pods, MonoTime step_start,
             const std::optional<SwitchoverRequest>& switchover);
  void Announce(const ElectionOutcome& outcome, double seconds);
  void AnswerSwitchover(const SwitchoverRequest& request, bool done, const std::string& message);
  void EmitEvent(const std::string& kind, const std::string& name, const std::string& uid,
                 const std::string& reason, const std::string& message, bool warning);
  std::string WallNowRfc3339() const;

  const std::string identity_;
  const LabelsConfig labels_;
  const ClusterConfig cluster_;
  const std::chrono::milliseconds pass_interval_;
  Deps deps_;
  // deps_.api behind the fence "still the active controller", checked
  // before every write request; every Kubernetes write goes through it.
  FencedKubeApi api_;
  HealthTracker health_;
  ClusterElector elector_;
  RoutingReconciler reconciler_;
  Backoff backoff_;
  bool was_active_ = false;
  std::string announced_foreign_;
  // Set while the loop has reported a leader the controller cannot reach
  // but whose gate vouches for it; the probe thread then logs its failures
  // at debug level only.
  std::atomic<bool> announced_unreachable_{false};

  mutable std::mutex mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;
  std::optional<Pod> routed_leader_;
  MonoTime last_pass_{};

  Cancellation cancel_;
  std::thread loop_thread_;
  std::thread probe_thread_;
};

}  // namespace amsha

#endif  // AMS_HA_ELECTION_CLUSTER_LOOP_H_
