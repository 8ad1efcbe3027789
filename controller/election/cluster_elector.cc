#include "election/cluster_elector.h"

#include <algorithm>

#include "common/duration.h"
#include "election/pod_identity.h"
#include "gate/ams_gate.h"

namespace amsha {
namespace {

bool IsCandidate(const Pod& pod) { return pod.ready && !pod.Terminating() && !pod.pod_ip.empty(); }

const Pod* FindByUid(const std::vector<Pod>& pods, const std::string& uid) {
  if (uid.empty()) return nullptr;
  for (const Pod& p : pods) {
    if (p.uid == uid) return &p;
  }
  return nullptr;
}

std::string Ms(std::chrono::nanoseconds d) {
  return FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

}  // namespace

const char* FailoverReasonName(FailoverReason reason) {
  switch (reason) {
    case FailoverReason::kPodDeleted:
      return "pod_deleted";
    case FailoverReason::kNotReady:
      return "not_ready";
    case FailoverReason::kProbeFailed:
      return "probe_failed";
    case FailoverReason::kSwitchover:
      return "switchover";
    case FailoverReason::kLeaseExpired:
      return "lease_expired";
    case FailoverReason::kForeignExpired:
      return "foreign_expired";
    case FailoverReason::kGateLost:
      return "gate_lost";
  }
  return "unknown";
}

ClusterElector::ClusterElector(ClusterConfig config, LeaseStore* store, const Clock* clock,
                               HealthTracker* health)
    : config_(std::move(config)), store_(store), clock_(clock), health_(health) {}

void ClusterElector::Reset() {
  last_renew_.reset();
  renewed_node_id_.clear();
  published_node_id_.clear();
  grace_adopted_holder_ = true;
  followed_uid_.clear();
  followed_pod_.clear();
  followed_node_id_.clear();
  adopting_ = true;
  leaderless_since_.reset();
  gate_free_since_.reset();
  gate_seen_live_uid_.clear();
}

std::chrono::milliseconds ClusterElector::GateWindow() const {
  return config_.probe.period * config_.probe.failure_threshold;
}

StatusOr<ClusterElector::GateView> ClusterElector::ObserveGate(const Pod& holder) {
  auto read = store_->Read({config_.name, kGateServiceName});
  if (!read.ok()) {
    gate_free_since_.reset();  // staleness counts only over successful reads
    return read.status();
  }
  const std::optional<LeaseRecord>& row = read.value();
  GateView view = GateView::kNone;
  const bool names_holder = row && row->node_id && UidFromNodeId(*row->node_id) == holder.uid;
  if (row && row->Expired()) {
    view = names_holder && gate_seen_live_uid_ == holder.uid ? GateView::kLapsed : GateView::kFree;
  } else if (row && !(row->node_id && UidFromNodeId(*row->node_id) == holder.uid)) {
    view = GateView::kWaiting;
  } else if (row) {
    GateReport report = ParseGateReport(row->server_info_json.value_or(""));
    switch (report.ams) {
      case GateReport::Ams::kUnknown:
        view = GateView::kNone;  // a gate that does not report: as without one
        break;
      case GateReport::Ams::kServing:
        view = GateView::kServing;
        break;
      case GateReport::Ams::kStarting:
        view = GateView::kStarting;
        break;
      case GateReport::Ams::kStopped:
        // Took the row, has not started AMS yet; or AMS exited.
        view = report.ams_started_at_ms == 0 ? GateView::kStarting : GateView::kStopped;
        break;
      case GateReport::Ams::kUnresponsive:
      case GateReport::Ams::kStopping:
        view = GateView::kStopped;
        break;
    }
  }
  if (view == GateView::kStarting || view == GateView::kServing || view == GateView::kStopped) {
    gate_seen_live_uid_ = holder.uid;
  }
  if (view == GateView::kFree) {
    if (!gate_free_since_ || gate_free_uid_ != holder.uid) {
      gate_free_since_ = clock_->Now();
      gate_free_uid_ = holder.uid;
    }
  } else {
    gate_free_since_.reset();
  }
  // Probe failures do not count while the holder's AMS legitimately starts:
  // its gate waits for the previous AMS to stop or is starting its own, or
  // there is no gate to ask (then until its first answer). All capped by
  // probe.startupGracePeriod from the start of the term.
  switch (view) {
    case GateView::kNone:
    case GateView::kWaiting:
    case GateView::kStarting:
      health_->SetStarting(holder.uid, true);
      break;
    case GateView::kServing:
      health_->MarkServed(holder.uid);
      health_->SetStarting(holder.uid, false);
      break;
    case GateView::kFree:
      // Before the holder's gate has been seen live in this term, a free
      // row is one its gate has not taken yet (it takes it at its next
      // poll or notification): still the start. A gate that never takes it
      // is judged dead after GateWindow() (Judge), not by probes.
      health_->SetStarting(holder.uid, gate_seen_live_uid_ != holder.uid);
      break;
    case GateView::kLapsed:
    case GateView::kStopped:
      health_->SetStarting(holder.uid, false);
      break;
  }
  return view;
}

void ClusterElector::StartTerm(const Pod& leader) {
  // A new term starts with a clean count: failures the pod collected when it
  // led before must not fail it over again the moment it is elected (with
  // two such pods the lease would bounce between them at once).
  health_->StartTerm(leader.uid, clock_->Now() + config_.probe.startup_grace_period);
  if (gate_seen_live_uid_ == leader.uid) gate_seen_live_uid_.clear();
}

void ClusterElector::EndTerm(const std::string& uid) {
  // The lease left this pod: what its probes said belongs to the term that
  // ended, and must not keep it from being elected again (it may be the
  // only candidate once it is Ready).
  if (!uid.empty()) health_->EndTerm(uid);
}

ClusterElector::Judgement ClusterElector::Judge(const Pod* holder, GateView gate) const {
  if (!holder) return {Health::kLost, FailoverReason::kPodDeleted, "leader pod is gone"};
  if (holder->Terminating()) {
    return {Health::kLost, FailoverReason::kPodDeleted,
            "leader pod " + holder->name + " is terminating"};
  }
  // NotReady within its grace is only Suspect: what the gate row and the
  // probe say can still make the pod Lost before the grace ends (a leader
  // whose gate was fenced turns NotReady too, and must not wait for it).
  std::optional<Judgement> not_ready;
  if (!holder->ready || holder->pod_ip.empty()) {
    auto since = health_->NotReadySince(holder->uid);
    auto for_how_long = since ? clock_->Now() - *since : std::chrono::nanoseconds(0);
    std::string why = "leader pod " + holder->name + " NotReady for " + Ms(for_how_long) +
                      " (grace " + FormatDuration(config_.not_ready_grace_period) + ")";
    if (for_how_long >= config_.not_ready_grace_period) {
      return {Health::kLost, FailoverReason::kNotReady, why};
    }
    not_ready = Judgement{Health::kSuspect, FailoverReason::kNotReady, why};
  }
  if (gate == GateView::kLapsed) {
    // The gate guarantees its AMS is dead before its row can expire (it
    // releases the row after AMS exited; its fence kills AMS before the
    // row's ttl runs out): no need to wait for probes.
    return {Health::kLost, FailoverReason::kGateLost,
            "the gate row of leader pod " + holder->name +
                " lapsed (released, or not renewed within gate.rowTtl): its AMS is not running"};
  }
  if (gate == GateView::kFree && gate_free_since_ &&
      clock_->Now() - *gate_free_since_ >= GateWindow()) {
    return {Health::kLost, FailoverReason::kGateLost,
            "the gate of leader pod " + holder->name + " has held no live gate row for " +
                Ms(clock_->Now() - *gate_free_since_) +
                " (the gate is dead or cut off from the database; window " +
                FormatDuration(GateWindow()) + ")"};
  }
  if (config_.probe.enabled) {
    int failures = health_->ConsecutiveProbeFailures(holder->uid);
    std::string why = "leader pod " + holder->name + " failed " + std::to_string(failures) +
                      " probe(s) in a row (threshold " +
                      std::to_string(config_.probe.failure_threshold) + ")";
    if (gate == GateView::kServing) {
      // Its gate, alive, sees AMS answer from inside the pod: whatever stops
      // our probe lies between this controller and the pod.
      if (not_ready) return *not_ready;
      Judgement alive{Health::kAlive, FailoverReason::kProbeFailed, ""};
      alive.unreachable = failures >= config_.probe.failure_threshold;
      if (alive.unreachable) alive.why = why + ", but its gate reports AMS serving";
      return alive;
    }
    if (failures >= config_.probe.failure_threshold) {
      return {Health::kLost, FailoverReason::kProbeFailed, why};
    }
    if (not_ready) return *not_ready;
    if (failures > 0) return {Health::kSuspect, FailoverReason::kProbeFailed, why};
  }
  if (not_ready) return *not_ready;
  return {Health::kAlive, FailoverReason::kPodDeleted, ""};
}

std::vector<const Pod*> ClusterElector::Candidates(const std::vector<Pod>& pods,
                                                   const std::string& exclude_uid) const {
  std::vector<const Pod*> out;
  for (const Pod& p : pods) {
    if (IsCandidate(p) && p.uid != exclude_uid) out.push_back(&p);
  }
  // A pod whose AMS failed our probes when it last led (its node may be
  // lost) comes after the others. Then Ready longest first: RFC 3339 UTC
  // timestamps of one API server sort as strings; an unknown time sorts
  // last; the name breaks ties.
  const bool probing = config_.probe.enabled;
  std::sort(out.begin(), out.end(), [this, probing](const Pod* a, const Pod* b) {
    if (probing) {
      bool a_failed = health_->FailedWhenLastLed(a->uid);
      bool b_failed = health_->FailedWhenLastLed(b->uid);
      if (a_failed != b_failed) return b_failed;
    }
    bool a_known = !a->ready_transition_time.empty();
    bool b_known = !b->ready_transition_time.empty();
    if (a_known != b_known) return a_known;
    if (a->ready_transition_time != b->ready_transition_time) {
      return a->ready_transition_time < b->ready_transition_time;
    }
    return a->name < b->name;
  });
  return out;
}

ElectionOutcome ClusterElector::Step(const std::vector<Pod>& pods,
                                     const std::optional<std::string>& switchover_to) {
  ElectionOutcome outcome;
  auto read = store_->Read(key());
  if (!read.ok()) {
    gate_free_since_.reset();  // staleness counts only over successful reads
    outcome.status = read.status();
    outcome.summary = "cannot read the lease: " + read.status().message();
    return outcome;
  }
  const std::optional<LeaseRecord>& record = read.value();
  outcome.record = record;
  if (config_.mode == ClusterMode::kFollow) return Follow(record, pods);
  if (!record || !record->node_id || record->node_id->empty()) {
    return TakeEmpty(record ? &*record : nullptr, pods, nullptr, true);
  }

  const std::string uid = UidFromNodeId(*record->node_id);
  const Pod* holder = FindByUid(pods, uid);
  const bool ours = holder != nullptr || health_->EverSeen(uid);
  if (record->Expired()) return TakeEmpty(&*record, pods, holder, ours);

  if (!ours) {
    outcome.foreign_holder = *record->node_id;
    outcome.routing = ElectionOutcome::Routing::kRouteNone;
    outcome.summary = "lease held by " + *record->node_id +
                      ", which is not one of this cluster's pods; waiting for it to expire in " +
                      std::to_string(record->ExpiresInMs()) + "ms";
    return outcome;
  }

  if (holder && grace_adopted_holder_) {
    // A controller that just became active cannot know when this holder
    // was elected: its AMS may still be starting. Delays a failover, never
    // causes one.
    StartTerm(*holder);
  }
  grace_adopted_holder_ = false;
  GateView gate = GateView::kNone;
  if (holder) {
    auto observed = ObserveGate(*holder);
    if (!observed.ok()) {
      outcome.status = observed.status();
      outcome.summary = "cannot read the gate row: " + observed.status().message();
      return outcome;
    }
    gate = observed.value();
  }
  Judgement judgement = Judge(holder, gate);
  if (switchover_to && holder && *switchover_to != holder->name) {
    std::vector<const Pod*> candidates = Candidates(pods, uid);
    auto target = std::find_if(candidates.begin(), candidates.end(),
                               [&](const Pod* p) { return p->name == *switchover_to; });
    if (target != candidates.end()) {
      return ReplaceHolder(*record, holder, *target, FailoverReason::kSwitchover);
    }
    outcome.switchover_rejected = "pod " + *switchover_to +
                                  " is not a candidate (it must match the selector, be Ready, "
                                  "not terminating and have a pod IP)";
  } else if (switchover_to && holder && *switchover_to == holder->name) {
    outcome.switchover_rejected = "pod " + *switchover_to + " is already the leader";
  }

  if (judgement.health == Health::kLost) {
    std::vector<const Pod*> candidates = Candidates(pods, uid);
    ElectionOutcome replaced = ReplaceHolder(
        *record, holder, candidates.empty() ? nullptr : candidates[0], judgement.reason);
    replaced.summary = judgement.why + "; " + replaced.summary;
    replaced.switchover_rejected = outcome.switchover_rejected;
    return replaced;
  }
  if (judgement.health == Health::kSuspect) {
    // The lease is unexpired and the pod may recover within its grace: keep
    // routing to it, but do not renew: the lease stands for a live AMS.
    outcome.routing = ElectionOutcome::Routing::kRouteTo;
    outcome.leader = *holder;
    outcome.summary = "waiting: " + judgement.why;
    return outcome;
  }
  ElectionOutcome renewed = RenewHolder(*record, *holder);
  renewed.switchover_rejected = outcome.switchover_rejected;
  renewed.leader_unreachable = judgement.unreachable;
  if (judgement.unreachable) renewed.summary += "; " + judgement.why;
  return renewed;
}

ElectionOutcome ClusterElector::TakeEmpty(const LeaseRecord* record, const std::vector<Pod>& pods,
                                          const Pod* holder, bool ours) {
  ElectionOutcome outcome;
  if (record) outcome.record = *record;
  const bool was_held = record && record->node_id && !record->node_id->empty();
  const Pod* next = nullptr;
  if (holder && Judge(holder).health == Health::kAlive) {
    next = holder;  // no preemption: the live holder takes its lease back
  } else if (was_held) {
    // The term of the expired (or released) holder is over, and so is the
    // probe history collected in it: it may not keep a pod that is Ready
    // again from being elected, even when that pod is the only candidate.
    // It is chosen after the others (FailedWhenLastLed) and starts a new
    // term with a clean count.
    EndTerm(holder ? holder->uid : UidFromNodeId(*record->node_id));
  }
  if (!next) {
    std::vector<const Pod*> candidates = Candidates(pods, "");
    if (candidates.empty()) {
      outcome.routing = ElectionOutcome::Routing::kRouteNone;
      outcome.summary = "no candidate: no pod is Ready, not terminating and with a pod IP";
      return outcome;
    }
    next = candidates[0];
  }
  LeaseHolder lease_holder = HolderFor(*next, config_);
  auto acquired = store_->Acquire(key(), lease_holder, config_.lease_ttl);
  if (!acquired.ok()) {
    outcome.status = acquired.status();
    outcome.summary = "acquire for " + next->name + ": " + acquired.status().message();
    return outcome;
  }
  outcome.record = acquired.value();
  outcome.routing = ElectionOutcome::Routing::kRouteTo;
  outcome.leader = *next;
  last_renew_ = clock_->Now();
  renewed_node_id_ = lease_holder.node_id;
  const bool new_holder = !was_held || *record->node_id != lease_holder.node_id;
  // An expired or released lease ended its term: taking it, even for the
  // same pod, starts a new one (what its gate showed in the old term, a
  // lapsed row among it, must not end the new term at once).
  StartTerm(*next);
  grace_adopted_holder_ = false;
  if (new_holder) {
    outcome.transitioned = true;
    if (was_held) {
      outcome.previous_node_id = *record->node_id;
      if (holder) outcome.previous_pod = holder->name;
      outcome.reason = ours ? FailoverReason::kLeaseExpired : FailoverReason::kForeignExpired;
    }
    outcome.summary = "elected " + next->name;
  } else {
    outcome.summary = "re-acquired the expired lease for the live leader " + next->name;
  }
  MaybePublish(outcome);
  return outcome;
}

ElectionOutcome ClusterElector::ReplaceHolder(const LeaseRecord& record, const Pod* holder,
                                              const Pod* successor, FailoverReason reason) {
  ElectionOutcome outcome;
  outcome.record = record;
  if (!successor) {
    // Nobody can take over: expire the lease so that the next Ready pod can
    // acquire it, and route to no pod meanwhile.
    Status released = store_->Release(key(), *record.node_id, record.version);
    if (released.ok()) EndTerm(UidFromNodeId(*record.node_id));
    outcome.status = released;
    outcome.routing =
        released.ok() ? ElectionOutcome::Routing::kRouteNone : ElectionOutcome::Routing::kKeep;
    outcome.summary = released.ok() ? "no candidate to take over; lease released"
                                    : "release: " + released.message();
    if (released.ok()) {
      outcome.transitioned = true;
      outcome.reason = reason;
      outcome.previous_node_id = *record.node_id;
      if (holder) outcome.previous_pod = holder->name;
      outcome.record.reset();
    }
    return outcome;
  }
  LeaseHolder next = HolderFor(*successor, config_);
  auto moved = store_->HandOver(key(), *record.node_id, record.version, next, config_.lease_ttl);
  if (!moved.ok()) {
    outcome.status = moved.status();
    outcome.summary = "hand over to " + successor->name + ": " + moved.status().message();
    return outcome;
  }
  outcome.record = moved.value();
  outcome.routing = ElectionOutcome::Routing::kRouteTo;
  outcome.leader = *successor;
  outcome.transitioned = true;
  outcome.reason = reason;
  outcome.previous_node_id = *record.node_id;
  if (holder) outcome.previous_pod = holder->name;
  outcome.summary =
      std::string("handed over to ") + successor->name + " (" + FailoverReasonName(reason) + ")";
  EndTerm(UidFromNodeId(*record.node_id));
  StartTerm(*successor);
  last_renew_ = clock_->Now();
  renewed_node_id_ = next.node_id;
  MaybePublish(outcome);
  return outcome;
}

ElectionOutcome ClusterElector::RenewHolder(const LeaseRecord& record, const Pod& holder) {
  ElectionOutcome outcome;
  outcome.record = record;
  outcome.routing = ElectionOutcome::Routing::kRouteTo;
  outcome.leader = holder;
  MonoTime now = clock_->Now();
  bool due = !last_renew_ || renewed_node_id_ != *record.node_id ||
             now - *last_renew_ >= config_.heartbeat_interval;
  if (!due) {
    outcome.summary = "leader " + holder.name + " alive";
    MaybePublish(outcome);
    return outcome;
  }
  auto renewed = store_->Renew(key(), *record.node_id, record.version, config_.lease_ttl);
  if (!renewed.ok()) {
    outcome.status = renewed.status();
    outcome.renew = renewed.status().IsConflict() ? RenewResult::kConflict : RenewResult::kError;
    // The row was confirmed unexpired a moment ago; on a conflict someone
    // else wrote it, so re-read before routing anywhere new.
    outcome.routing = ElectionOutcome::Routing::kKeep;
    outcome.leader.reset();
    outcome.summary = "renew for " + holder.name + ": " + renewed.status().message();
    last_renew_.reset();
    return outcome;
  }
  outcome.record = renewed.value();
  outcome.renew = RenewResult::kOk;
  last_renew_ = now;
  renewed_node_id_ = *record.node_id;
  outcome.summary = "renewed for " + holder.name;
  MaybePublish(outcome);
  return outcome;
}

void ClusterElector::MaybePublish(ElectionOutcome& outcome) {
  if (!outcome.leader || !outcome.record || !outcome.record->node_id) return;
  if (published_node_id_ == *outcome.record->node_id) return;
  const Pod& leader = *outcome.leader;
  LeaseHolder table = HolderFor(leader, config_);
  LeaseHolder optimizing = table;
  optimizing.server_info_json =
      ServerInfoJson(leader.pod_ip, config_.ports.optimizing, config_.ports.rest);
  Status published = store_->PublishServiceInfo(config_.name, *outcome.record->node_id,
                                                outcome.record->version, table, optimizing);
  if (published.ok()) {
    published_node_id_ = *outcome.record->node_id;
  } else {
    // The lease is ours; the service rows are retried on the next step.
    outcome.summary += "; publishing service info failed: " + published.message();
  }
}

ElectionOutcome ClusterElector::Follow(const std::optional<LeaseRecord>& record,
                                       const std::vector<Pod>& pods) {
  ElectionOutcome outcome;
  outcome.record = record;
  const Pod* match = nullptr;
  std::string why;
  // Amoro judges expiry by its JVM's clock (lease_expire_ts < its now):
  // allow the configured skew before calling its row expired.
  const bool expired =
      !record || !record->node_id || record->node_id->empty() || !record->lease_expire_ts_ms ||
      *record->lease_expire_ts_ms + config_.clock_skew_margin.count() <= record->db_now_ms;
  const bool placeholder = !expired && IsAmoroPlaceholder(*record);
  int ready = 0;
  for (const Pod& p : pods) ready += IsCandidate(p) ? 1 : 0;
  if (expired && ready > 0) {
    const MonoTime now = clock_->Now();
    if (!leaderless_since_) leaderless_since_ = now;
    const auto leaderless = now - *leaderless_since_;
    if (leaderless > config_.lease_ttl) {
      outcome.no_campaign =
          "no AMS has held the lease of cluster " + config_.name + " for " + Ms(leaderless) +
          " (longer than leaseTtl " + FormatDuration(config_.lease_ttl) + ") while " +
          std::to_string(ready) +
          " AMS pod(s) are Ready: no AMS is campaigning (an Amoro AMS that lost its lease never "
          "campaigns again, and an AMS without ha.enabled: true never does); check "
          "ha.enabled/ha.type/ha.cluster-name of the AMS pods, then restart them (kubectl "
          "rollout restart of their StatefulSet)";
    }
  } else {
    leaderless_since_.reset();
  }
  if (expired) {
    why = "no AMS holds the lease (follow mode: AMS elects itself)";
  } else if (placeholder) {
    why = "no leader yet: Amoro's first insert (version 0, no server info) names " +
          *record->node_id + ", which does not lead; an AMS takes the lease once it expires in " +
          std::to_string(record->ExpiresInMs()) + "ms";
  } else {
    const std::string ip = record->node_ip.value_or("");
    int matches = 0;
    for (const Pod& p : pods) {
      if (!ip.empty() && p.pod_ip == ip) {
        ++matches;
        match = &p;
      }
    }
    if (matches != 1) {
      match = nullptr;
      outcome.foreign_holder = *record->node_id;
      why = "lease held by " + *record->node_id + " (node_ip \"" + ip + "\"), which " +
            (matches == 0 ? "is the IP of no pod"
                          : "is the IP of " + std::to_string(matches) + " pods") +
            " of this cluster; routing none";
    }
  }
  const bool adopting = adopting_;
  adopting_ = false;
  if (!match) {
    outcome.routing = ElectionOutcome::Routing::kRouteNone;
    outcome.summary = why;
    if (!followed_uid_.empty() && !adopting) {
      outcome.transitioned = true;
      outcome.reason = FailoverReason::kLeaseExpired;
      outcome.previous_node_id = followed_node_id_;
      outcome.previous_pod = followed_pod_;
    }
    followed_uid_.clear();
    followed_pod_.clear();
    followed_node_id_.clear();
    return outcome;
  }
  outcome.routing = ElectionOutcome::Routing::kRouteTo;
  outcome.leader = *match;
  outcome.summary = "following " + match->name + ", which holds the lease as " + *record->node_id;
  if (match->uid != followed_uid_ && !adopting) {
    outcome.transitioned = true;
    if (!followed_uid_.empty()) {
      // Amoro takes a lease over only once it has expired.
      outcome.reason = FailoverReason::kLeaseExpired;
      outcome.previous_node_id = followed_node_id_;
      outcome.previous_pod = followed_pod_;
    }
  }
  followed_uid_ = match->uid;
  followed_pod_ = match->name;
  followed_node_id_ = *record->node_id;
  return outcome;
}

}  // namespace amsha
