#include "election/cluster_loop.h"

#include <algorithm>
#include <ctime>

#include "common/logging.h"
#include "election/pod_identity.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;

std::string Rfc3339(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

ClusterLoop::ClusterLoop(const Config& config, ClusterConfig cluster, Deps deps)
    : identity_(config.controller.identity),
      labels_(config.labels),
      cluster_(std::move(cluster)),
      pass_interval_(std::min(
          {config.controller.retry_period, cluster_.heartbeat_interval, milliseconds(1000)})),
      deps_(deps),
      api_(deps.api, [controller = deps.controller] { return controller->IsActive(); }),
      health_(deps.clock),
      elector_(cluster_, deps.store, deps.clock, &health_),
      reconciler_(cluster_, config.labels, &api_, deps.services),
      events_(&api_, deps.clock, config.controller.identity),
      backoff_(milliseconds(100), config.controller.retry_period) {}

ClusterLoop::~ClusterLoop() { Stop(); }

std::string ClusterLoop::WallNowRfc3339() const { return Rfc3339(deps_.clock->WallNow()); }

std::string ClusterLoop::RoutedLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return routed_leader_ ? routed_leader_->name : "";
}

MonoTime ClusterLoop::LastPass() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_pass_;
}

milliseconds ClusterLoop::RunOnce() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_pass_ = deps_.clock->Now();
  }
  if (!deps_.pods->Synced()) return pass_interval_;
  std::vector<Pod> pods = deps_.pods->Snapshot();
  health_.ObservePods(pods);
  last_pods_ = pods;
  if (!deps_.controller->IsActive()) {
    was_active_ = false;
    return pass_interval_;
  }
  if (!was_active_) {
    // Adopt whatever the row says: holder and version, no failover.
    elector_.Reset();
    was_active_ = true;
  }

  std::optional<SwitchoverRequest> switchover;
  // Follow mode writes nothing to ha_lease, not even a switchover answer;
  // the `switchover` command refuses such a cluster itself.
  if (cluster_.mode == ClusterMode::kManage) {
    auto request_row = deps_.store->Read({cluster_.name, kSwitchoverServiceName});
    if (request_row.ok()) switchover = PendingSwitchover(request_row.value());
  }

  MonoTime step_start = deps_.clock->Now();
  ElectionOutcome outcome = elector_.Step(
      pods, switchover ? std::optional<std::string>(switchover->target_pod) : std::nullopt);
  if (outcome.status.ok() || outcome.status.IsConflict()) {
    deps_.metrics->DatabaseUp(true);
  } else if (outcome.status.IsUnavailable()) {
    deps_.metrics->DatabaseUp(false);
    deps_.metrics->DatabaseError();
  }
  if (outcome.renew != RenewResult::kNone) {
    const char* result = outcome.renew == RenewResult::kOk         ? "ok"
                         : outcome.renew == RenewResult::kConflict ? "conflict"
                                                                   : "error";
    deps_.metrics->LeaseRenewal(cluster_.name, result);
  }
  if (outcome.record && outcome.record->lease_expire_ts_ms) {
    deps_.metrics->LeaseExpiry(cluster_.name, *outcome.record->lease_expire_ts_ms / 1000.0);
  }
  // The step may have taken long: write nothing to Kubernetes once
  // inactive (and api_ checks again before every request of Act).
  if (!deps_.controller->IsActive()) return pass_interval_;
  Status routed = Act(outcome, pods, step_start, switchover);

  if (outcome.status.ok() && routed.IsConflict()) {
    // The Service changed between our read and our patch: whatever the
    // patch carried may be stale. Decide again from a fresh read of the
    // lease at once, the first time; conflicts that keep coming back off.
    bool first = backoff_.attempts() == 0;
    milliseconds wait = first ? milliseconds(0) : backoff_.Next();
    if (first) {
      backoff_.Next();
      Log(LogLevel::kInfo, "Service changed under the controller; deciding again",
          {{"cluster", cluster_.name}, {"detail", routed.message()}});
    }
    return wait;
  }
  if (!outcome.status.ok()) {
    // A conflict means the row moved: read it again at once, the first
    // time. Conflicts that keep coming (another writer fighting over the
    // row) back off like errors, and are logged once per streak.
    bool first = backoff_.attempts() == 0;
    milliseconds wait = outcome.status.IsConflict() && first ? milliseconds(0) : backoff_.Next();
    if (first || !outcome.status.IsConflict()) {
      LogLevel level = outcome.status.IsConflict() ? LogLevel::kInfo : LogLevel::kWarn;
      Log(level, "lease step did not complete; retrying",
          {{"cluster", cluster_.name},
           {"detail", outcome.summary},
           {"retry_in_ms", std::to_string(wait.count())}});
    }
    if (outcome.status.IsConflict() && first) backoff_.Next();  // count the streak
    return wait;
  }
  backoff_.Reset();
  return pass_interval_;
}

Status ClusterLoop::Act(const ElectionOutcome& outcome, const std::vector<Pod>& pods,
                        MonoTime step_start, const std::optional<SwitchoverRequest>& switchover) {
  deps_.metrics->ForeignHolder(cluster_.name, outcome.foreign_holder.has_value());
  if (outcome.foreign_holder && *outcome.foreign_holder != announced_foreign_) {
    announced_foreign_ = *outcome.foreign_holder;
    std::string message =
        "ha_lease of cluster " + cluster_.name + " is held by " + *outcome.foreign_holder +
        (cluster_.mode == ClusterMode::kFollow
             ? ", whose node_ip is the IP of no pod of the cluster, or of several; no pod is "
               "routed until exactly one pod has it"
             : ", which is not one of the cluster's pods; it is left alone until it "
               "expires, and no pod is routed meanwhile");
    Log(LogLevel::kWarn, "foreign lease holder",
        {{"cluster", cluster_.name}, {"holder", *outcome.foreign_holder}});
    EmitEvent("Service", cluster_.service, "", "ForeignLeaseHolder", "WaitForExpiry", message,
              true);
  } else if (!outcome.foreign_holder) {
    announced_foreign_.clear();
  }
  if (outcome.status.ok()) {
    deps_.metrics->NoCampaign(cluster_.name, outcome.no_campaign.has_value());
    if (outcome.no_campaign && !announced_no_campaign_) {
      Log(LogLevel::kWarn, "no AMS is campaigning",
          {{"cluster", cluster_.name}, {"detail", *outcome.no_campaign}});
      EmitEvent("Service", cluster_.service, "", "NoAmsCampaigning", "WaitForCampaign",
                *outcome.no_campaign, true);
    }
    announced_no_campaign_ = outcome.no_campaign.has_value();
  }

  if (outcome.status.ok()) {
    deps_.metrics->LeaderUnreachable(cluster_.name, outcome.leader_unreachable);
    if (outcome.leader_unreachable && !announced_unreachable_) {
      Log(LogLevel::kWarn,
          "controller cannot reach a leader its gate reports healthy; not failing over",
          {{"cluster", cluster_.name},
           {"pod", outcome.leader ? outcome.leader->name : ""},
           {"address", outcome.leader
                           ? outcome.leader->pod_ip + ":" + std::to_string(cluster_.ports.rest)
                           : ""},
           {"detail", outcome.summary}});
    } else if (!outcome.leader_unreachable && announced_unreachable_) {
      Log(LogLevel::kInfo, "controller reaches the leader again or the leader changed",
          {{"cluster", cluster_.name}});
    }
    announced_unreachable_ = outcome.leader_unreachable;
  }
  if (outcome.routing == ElectionOutcome::Routing::kKeep) return Status::Ok();
  const Pod* leader = outcome.routing == ElectionOutcome::Routing::kRouteTo && outcome.leader
                          ? &*outcome.leader
                          : nullptr;
  std::string node_id = leader && outcome.record ? outcome.record->node_id.value_or("") : "";
  RoutingResult routed = reconciler_.Reconcile(leader, node_id, pods, WallNowRfc3339());
  deps_.metrics->RoutedPods(cluster_.name, static_cast<int>(routed.routed.size()));
  if (FencedKubeApi::IsFenced(routed.status)) {
    Log(LogLevel::kInfo, "routing stopped: this replica's controller lease may have expired",
        {{"cluster", cluster_.name}, {"detail", routed.status.message()}});
  } else if (!routed.status.ok() && !routed.status.IsConflict()) {
    Log(LogLevel::kWarn, "routing incomplete; retrying",
        {{"cluster", cluster_.name}, {"error", routed.status.ToString()}});
  }
  std::string routed_before, routed_now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    routed_before = routed_leader_ ? routed_leader_->name : "";
    if (routed.status.ok() || leader == nullptr) routed_leader_ = outcome.leader;
    routed_now = routed_leader_ ? routed_leader_->name : "";
  }
  deps_.metrics->SetLeader(cluster_.name, leader ? leader->name : "", node_id);

  double seconds = std::chrono::duration<double>(deps_.clock->Now() - step_start).count();
  if (outcome.transitioned) {
    Announce(outcome, seconds);
  } else if (routed_now != routed_before) {
    // Routing moved while the lease kept its holder: a replica that just
    // became active adopting the leader, a live holder taking back its
    // expired lease, or traffic withdrawn for a foreign holder. Still a
    // decision an operator must be able to find, once.
    Log(LogLevel::kInfo, routed_now.empty() ? "no pod routed" : "routing the lease holder",
        {{"cluster", cluster_.name},
         {"from", routed_before.empty() ? "-" : routed_before},
         {"to", routed_now.empty() ? "-" : routed_now},
         {"reason", outcome.summary},
         {"version", outcome.record ? std::to_string(outcome.record->version) : ""},
         {"took_ms", std::to_string(static_cast<int64_t>(seconds * 1000))}});
  }

  if (switchover) {
    if (outcome.transitioned && outcome.reason == FailoverReason::kSwitchover) {
      AnswerSwitchover(*switchover, true, "leader is now " + switchover->target_pod);
    } else if (leader && leader->name == switchover->target_pod) {
      AnswerSwitchover(*switchover, true, "leader is " + switchover->target_pod);
    } else if (outcome.switchover_rejected) {
      AnswerSwitchover(*switchover, false, *outcome.switchover_rejected);
    }
  }
  return routed.status;
}

void ClusterLoop::Announce(const ElectionOutcome& outcome, double seconds) {
  deps_.metrics->LeaderTransition(cluster_.name);
  std::string to = outcome.leader ? outcome.leader->name : "";
  std::string from = outcome.previous_pod.empty() ? outcome.previous_node_id : outcome.previous_pod;
  std::string reason = outcome.reason ? FailoverReasonName(*outcome.reason) : "initial";
  std::string version = outcome.record ? std::to_string(outcome.record->version) : "";
  Log(LogLevel::kInfo, to.empty() ? "leader lost; no pod routed" : "leader elected",
      {{"cluster", cluster_.name},
       {"from", from.empty() ? "-" : from},
       {"to", to.empty() ? "-" : to},
       {"reason", reason},
       {"version", version},
       {"took_ms", std::to_string(static_cast<int64_t>(seconds * 1000))}});
  if (outcome.reason) {
    deps_.metrics->Failover(cluster_.name, reason, seconds);
    bool planned = *outcome.reason == FailoverReason::kSwitchover;
    std::string message = (planned ? "switchover" : "failing over") + std::string(" from ") +
                          (from.empty() ? "-" : from) + " to " + (to.empty() ? "no pod" : to) +
                          " (" + reason + ")";
    const char* event_reason = planned ? "Switchover" : "FailingOver";
    const char* action = planned ? "SwitchOver" : "FailOver";
    EmitEvent("Service", cluster_.service, "", event_reason, action, message, !planned);
    if (!outcome.previous_pod.empty()) {
      EmitEvent("Pod", outcome.previous_pod, UidFromNodeId(outcome.previous_node_id), event_reason,
                action, message, !planned);
    }
  }
  if (outcome.leader) {
    std::string message = "elected leader of AMS cluster " + cluster_.name + " (" + reason + ")";
    EmitEvent("Pod", outcome.leader->name, outcome.leader->uid, "LeaderElected", "Elect", message,
              false);
    EmitEvent("Service", cluster_.service, "", "LeaderElected", "Route",
              "routing to " + outcome.leader->name + " (" + reason + ")", false);
  }
}

void ClusterLoop::AnswerSwitchover(const SwitchoverRequest& request, bool done,
                                   const std::string& message) {
  auto answered = deps_.store->HandOver(
      {cluster_.name, kSwitchoverServiceName}, request.node_id, request.version,
      SwitchoverAnswerHolder(request.target_pod, done, message), milliseconds(0));
  Log(done ? LogLevel::kInfo : LogLevel::kWarn,
      done ? "switchover completed" : "switchover rejected",
      {{"cluster", cluster_.name},
       {"to", request.target_pod},
       {"detail", message},
       {"recorded", answered.ok() ? "yes" : answered.status().ToString()}});
}

void ClusterLoop::EmitEvent(const std::string& kind, const std::string& name,
                            const std::string& uid, const std::string& reason,
                            const std::string& action, const std::string& message, bool warning) {
  Event event;
  ObjectReference& ref = event.involved_object;
  ref.kind = kind;
  ref.name = name;
  ref.namespace_name = api_.Namespace();
  ref.uid = uid;
  // The object's own uid and resourceVersion, so that `kubectl describe`
  // (which selects Events by involvedObject.uid) lists the Event.
  if (kind == "Service") {
    std::optional<Service> service = reconciler_.LastService();
    if ((!service || service->name != name) && deps_.services && deps_.services->Synced()) {
      service = deps_.services->Get(name);
    }
    if (!service || service->name != name) {
      auto fetched = api_.GetService(name);
      if (fetched.ok()) service = *fetched;
    }
    if (service) {
      ref.uid = service->uid;
      ref.resource_version = service->resource_version;
    }
  } else {
    for (const Pod& pod : last_pods_) {
      if (pod.name != name || (!uid.empty() && pod.uid != uid)) continue;
      ref.uid = pod.uid;
      ref.resource_version = pod.resource_version;
    }
  }
  event.reason = reason;
  event.action = action;
  event.message = message;
  event.type = warning ? "Warning" : "Normal";
  Status s = events_.Record(event);
  if (!s.ok() && !FencedKubeApi::IsFenced(s)) {
    Log(LogLevel::kWarn, "cannot record Event",
        {{"reason", reason}, {"object", kind + "/" + name}, {"error", s.ToString()}});
  }
}

void ClusterLoop::ProbeOnce() {
  // In follow mode AMS fails itself over; a probe could change nothing.
  if (!cluster_.probe.enabled || cluster_.mode == ClusterMode::kFollow) return;
  std::optional<Pod> leader;
  {
    std::lock_guard<std::mutex> lock(mu_);
    leader = routed_leader_;
  }
  if (!leader || leader->pod_ip.empty()) return;
  bool ok = deps_.prober->Probe(leader->pod_ip, cluster_.ports.rest, cluster_.probe.timeout);
  bool counted = health_.RecordProbe(leader->uid, ok);
  if (!ok && !counted) {
    // A freshly elected leader's AMS may still be starting.
    Log(LogLevel::kDebug, "leader probe failed while its AMS starts; not counted",
        {{"cluster", cluster_.name}, {"pod", leader->name}});
  } else if (!ok) {
    Log(announced_unreachable_ ? LogLevel::kDebug : LogLevel::kWarn, "leader probe failed",
        {{"cluster", cluster_.name},
         {"pod", leader->name},
         {"address", leader->pod_ip + ":" + std::to_string(cluster_.ports.rest)},
         {"failures", std::to_string(health_.ConsecutiveProbeFailures(leader->uid))}});
    Wake();
  }
}

void ClusterLoop::Wake() {
  WorkScheduler::TaskId task = loop_task_.load();
  if (task != 0) loops_->Wake(task);
}

void ClusterLoop::Start() {
  loops_ = deps_.loops;
  probes_ = deps_.probes;
  if (loops_ == nullptr) {
    own_loops_ = std::make_unique<WorkScheduler>("loop", 1);
    own_loops_->Start();
    loops_ = own_loops_.get();
  }
  // In follow mode AMS fails itself over: no probe could change anything.
  if (cluster_.probe.enabled && cluster_.mode == ClusterMode::kManage) {
    if (probes_ == nullptr) {
      own_probes_ = std::make_unique<WorkScheduler>("probe", 1);
      own_probes_->Start();
      probes_ = own_probes_.get();
    }
    milliseconds period = cluster_.probe.period;
    probe_task_ = probes_->Add(
        [this, period] {
          ProbeOnce();
          return period;
        },
        period);
  }
  loop_task_ = loops_->Add([this] { return RunOnce(); });
}

void ClusterLoop::Stop() {
  WorkScheduler::TaskId task = loop_task_.exchange(0);
  if (task != 0) loops_->Remove(task);
  if (probe_task_ != 0) probes_->Remove(probe_task_);
  probe_task_ = 0;
  if (own_loops_) own_loops_->Stop();
  if (own_probes_) own_probes_->Stop();
}

}  // namespace amsha
