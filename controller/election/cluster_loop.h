// ClusterLoop: the thin loop around ClusterElector and RoutingReconciler for
// one AMS cluster, plus the leader probe.
//
// RunOnce() is one non-sleeping pass: take the pod watcher's snapshot, step
// the election (only while this replica is the active controller), route
// the Service, emit Events, logs and metrics, answer switchover requests,
// and return how long to wait before the next pass. Start() schedules the
// passes on a WorkScheduler shared by all clusters (a bounded number of
// threads, whatever the number of clusters), woken early through Wake() by
// pod changes (the owner wires its PodViews to Wake) and failed probes; the
// leader probe runs on a second scheduler, so a probe waiting for its
// timeout never delays a pass. Nothing is written until the pod cache has
// synced (an empty cache is not "the leader is gone"), and nothing is
// written to Kubernetes once the replica stops being active: the deadline
// is checked before every request (FencedKubeApi). A 409 on the Service
// starts a new pass at once, which re-reads the lease and decides again. In follow
// mode it neither probes nor reads or answers switchover requests.
// Thread safety: Start/Stop/Wake from any thread; RunOnce from one thread.
#ifndef AMS_HA_ELECTION_CLUSTER_LOOP_H_
#define AMS_HA_ELECTION_CLUSTER_LOOP_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/work_scheduler.h"
#include "config/config.h"
#include "election/cluster_elector.h"
#include "election/controller_elector.h"
#include "election/health_tracker.h"
#include "election/prober.h"
#include "election/switchover.h"
#include "kube/event_recorder.h"
#include "kube/fenced_kube_api.h"
#include "kube/kube_api.h"
#include "kube/pod_views.h"
#include "kube/service_watcher.h"
#include "lease/lease_store.h"
#include "metrics/metrics_sink.h"
#include "routing/routing_reconciler.h"

namespace amsha {

class ClusterLoop {
 public:
  struct Deps {
    LeaseStore* store = nullptr;  // used by one pass at a time
    KubeApi* api = nullptr;
    const PodSource* pods = nullptr;  // this cluster's pods
    // The namespace's Services, watched (null: the routing GETs its Service).
    ServiceWatcher* services = nullptr;
    // Where passes and probes run; each null: Start() makes a one-thread
    // scheduler of this loop's own.
    WorkScheduler* loops = nullptr;
    WorkScheduler* probes = nullptr;
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

  // Schedules the passes (the first at once) and probes. Once only.
  void Start();
  // Unschedules them; waits for a running pass or probe to end.
  void Stop();
  // Brings the next pass forward to now (from any thread, at any time).
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
                 const std::string& reason, const std::string& action, const std::string& message,
                 bool warning);
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
  EventRecorder events_;
  std::vector<Pod> last_pods_;  // the pass's snapshot, for Event references
  Backoff backoff_;
  bool was_active_ = false;
  std::string announced_foreign_;
  bool announced_no_campaign_ = false;
  // Set while the loop has reported a leader the controller cannot reach
  // but whose gate vouches for it; the probe thread then logs its failures
  // at debug level only.
  std::atomic<bool> announced_unreachable_{false};

  mutable std::mutex mu_;
  std::optional<Pod> routed_leader_;
  MonoTime last_pass_{};

  std::unique_ptr<WorkScheduler> own_loops_;
  std::unique_ptr<WorkScheduler> own_probes_;
  WorkScheduler* loops_ = nullptr;
  WorkScheduler* probes_ = nullptr;
  std::atomic<WorkScheduler::TaskId> loop_task_{0};
  WorkScheduler::TaskId probe_task_ = 0;
};

}  // namespace amsha

#endif  // AMS_HA_ELECTION_CLUSTER_LOOP_H_
