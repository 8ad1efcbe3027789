#include "gate/ams_gate.h"

#include <algorithm>
#include <cstdio>

#include "common/json.h"
#include "common/logging.h"
#include "election/pod_identity.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;

// While the lease is confirmed with little time left (a controller
// takeover), re-read this often rather than spin.
constexpr milliseconds kMinStep{200};
// A failed renewal is retried after renewInterval / kRetryDivisor: the
// database restart rule (config_validator.h) counts on a quick retry.
constexpr int kRetryDivisor = 4;
constexpr milliseconds kMinRetry{50};

// The pod named in a gate row's server_info_json ({"pod":"ams-0"}).
std::string PodOf(const LeaseRecord& row) {
  std::string pod = JsonStringMember(row.server_info_json.value_or(""), "pod");
  return pod.empty() ? row.node_id.value_or("?") : pod;
}

bool OursByUid(const LeaseRecord& row, const std::string& uid) {
  return row.node_id && UidFromNodeId(*row.node_id) == uid;
}

}  // namespace

const char* AmsStateName(AmsReport::State state) {
  switch (state) {
    case AmsReport::State::kStopped:
      return "stopped";
    case AmsReport::State::kStarting:
      return "starting";
    case AmsReport::State::kServing:
      return "serving";
    case AmsReport::State::kUnresponsive:
      return "unresponsive";
    case AmsReport::State::kStopping:
      return "stopping";
  }
  return "stopped";
}

std::string Seconds(milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

AmsGate::AmsGate(GateIdentity me, ClusterConfig cluster, GateConfig gate, LeaseStore* store,
                 const Clock* clock)
    : me_(std::move(me)),
      cluster_(std::move(cluster)),
      gate_(gate),
      store_(store),
      clock_(clock),
      node_id_(me_.pod_ip + ":" + std::to_string(cluster_.ports.optimizing) + ":" + me_.pod_uid) {}

LeaseHolder AmsGate::Holder() const { return {node_id_, me_.pod_ip, RowInfo()}; }

void AmsGate::Anchor(const LeaseRecord& written) {
  anchor_db_ms_ = written.db_now_ms;
  anchor_local_ = clock_->Now();
}

int64_t AmsGate::DbMs(std::optional<MonoTime> t) const {
  if (!t) return 0;
  if (anchor_db_ms_ == 0) return 0;  // no write yet: the next one will carry it
  return anchor_db_ms_ + std::chrono::duration_cast<milliseconds>(*t - anchor_local_).count();
}

std::string AmsGate::RowInfo() const {
  return "{\"pod\":\"" + JsonEscape(me_.pod_name) + "\",\"podUid\":\"" + JsonEscape(me_.pod_uid) +
         "\",\"ams\":\"" + AmsStateName(ams_.state) +
         "\",\"amsStartedAtMs\":" + std::to_string(DbMs(ams_.started_at)) +
         ",\"servingSinceMs\":" + std::to_string(DbMs(ams_.serving_since)) + "}";
}

milliseconds AmsGate::RowTtl() const { return gate_.row_ttl; }

MonoTime AmsGate::KillDeadline(MonoTime write_start) const {
  return write_start + gate_.row_ttl - gate_.safety_margin;
}

milliseconds AmsGate::RetryStep() const {
  return std::max(gate_.renew_interval / kRetryDivisor, kMinRetry);
}

MonoTime AmsGate::FenceDeadline() const {
  // Nothing confirmed yet means nothing may run: the deadline is now.
  if (!lease_deadline_ || !row_deadline_) return clock_->Now();
  return std::min(*lease_deadline_, *row_deadline_);
}

std::optional<MonoTime> AmsGate::fence_deadline() const { return row_deadline_; }

milliseconds AmsGate::Until(MonoTime t) const {
  auto d = std::chrono::duration_cast<milliseconds>(t - clock_->Now());
  return std::max(d, milliseconds(0));
}

milliseconds AmsGate::LeaderStep() const {
  // Renew the row every renewInterval (the fence deadline moves with each
  // renewal), and re-read a lease about to expire halfway to its deadline.
  return std::max(std::min(gate_.renew_interval, Until(FenceDeadline()) / 2),
                  std::min(kMinStep, gate_.renew_interval));
}

GateDecision AmsGate::Stop(const std::string& why) {
  GateDecision d;
  d.action = GateDecision::Action::kStopAms;
  d.summary = why;
  return d;
}

GateDecision AmsGate::Step(bool ams_running) {
  const MonoTime read_start = clock_->Now();
  auto read = store_->Read(lease_key());
  if (!read.ok()) {
    GateDecision d;
    d.status = read.status();
    if (!ams_running) {
      d.summary = "waiting: cannot read the lease: " + read.status().message();
      d.next_step = gate_.poll_interval;
      return d;
    }
    if (!lease_deadline_ || read_start >= *lease_deadline_) {
      return Stop("cannot confirm the lease (" + read.status().message() +
                  ") and it may have expired by now: stopping AMS");
    }
    MonoTime deadline = FenceDeadline();
    d.summary = "leader: cannot confirm the lease (" + read.status().message() +
                "); AMS keeps running for at most " + Seconds(Until(deadline)) +
                " unless the database answers";
    d.next_step = std::min(RetryStep(), Until(deadline));
    return d;
  }
  const std::optional<LeaseRecord>& lease = read.value();
  const bool leads = lease && lease->node_id && !lease->Expired() && OursByUid(*lease, me_.pod_uid);
  GateDecision d = leads ? Lead(*lease, read_start, ams_running) : Follow(lease, ams_running);
  d.database_ok = true;
  return d;
}

GateDecision AmsGate::Follow(const std::optional<LeaseRecord>& lease, bool ams_running) {
  lease_deadline_.reset();
  // A running AMS keeps its kill deadline: the gate renews the row while
  // AMS stops (RenewRow), and the fence enforces it if the gate cannot.
  if (!ams_running) row_deadline_.reset();
  const bool held = lease && lease->node_id && !lease->node_id->empty() && !lease->Expired();
  if (ams_running) {
    std::string what = !lease || !lease->node_id || lease->node_id->empty()
                           ? "the lease names no pod"
                       : lease->Expired() ? "the lease has expired"
                                          : "lease moved to " + *lease->node_id;
    return Stop(what + ": stopping AMS");
  }
  GateDecision d;
  if (row_) {
    // Taken in an earlier step, but the lease moved before AMS started.
    d.status = ReleaseRow();
  }
  d.next_step = gate_.poll_interval;
  if (held) {
    d.summary = "follower: lease held by " + *lease->node_id + " (node_ip " +
                lease->node_ip.value_or("?") + "), waiting";
  } else {
    d.summary = "follower: no pod holds the lease; waiting for the controller to elect one";
  }
  return d;
}

GateDecision AmsGate::Lead(const LeaseRecord& lease, MonoTime read_start, bool ams_running) {
  lease_deadline_ = read_start + milliseconds(lease.ExpiresInMs()) - gate_.safety_margin;
  const milliseconds ttl = RowTtl();
  GateDecision d;
  if (!ams_running && Until(*lease_deadline_) < std::min(kMinStep, gate_.poll_interval)) {
    // It would be fenced the moment it started: wait for the controller to
    // renew (a controller takeover, or the database just came back).
    d.summary = "leader: the lease expires in " + Seconds(milliseconds(lease.ExpiresInMs())) +
                " (safety margin " + Seconds(gate_.safety_margin) +
                "); waiting for it to be renewed before starting AMS";
    d.next_step = std::min(kMinStep, gate_.poll_interval);
    return d;
  }
  const MonoTime write_start = clock_->Now();
  if (!row_) {
    if (ams_running) {
      GateDecision lost = Stop("lost track of the gate row: killing AMS");
      lost.kill_now = true;
      return lost;
    }
    auto acquired = store_->Acquire(gate_key(), Holder(), ttl);
    if (!acquired.ok()) {
      if (acquired.status().IsConflict()) return WaitForRow();
      d.status = acquired.status();
      d.summary = "leader: cannot take the gate row: " + acquired.status().message();
      d.next_step = gate_.poll_interval;
      return d;
    }
    row_ = acquired.value();
    Anchor(*row_);
  } else {
    auto renewed = store_->RenewWithInfo(gate_key(), node_id_, row_->version, ttl, RowInfo());
    if (renewed.ok()) {
      row_ = renewed.value();
      Anchor(*row_);
    } else if (renewed.status().IsConflict()) {
      // A renewal whose reply was lost moved the version: if the row is
      // still ours and unexpired, adopt it; anything else means it is gone.
      auto row = store_->Read(gate_key());
      if (row.ok() && row.value() && row.value()->node_id == node_id_ && !row.value()->Expired()) {
        row_ = row.value();
        d.next_step = milliseconds(0);
        d.summary = ams_running ? "leader: AMS running" : "leader: re-reading the gate row";
        return d;
      }
      row_.reset();
      if (ams_running) {
        GateDecision lost = Stop(
            "the gate row is no longer this pod's (this gate could not renew it in time)"
            ": killing AMS");
        lost.kill_now = true;
        return lost;
      }
      d.summary = "leader: the gate row was lost before AMS started; taking it again";
      d.next_step = milliseconds(0);
      return d;
    } else {
      d.status = renewed.status();
      if (!ams_running) {
        d.summary = "leader: cannot renew the gate row: " + renewed.status().message();
        d.next_step = gate_.poll_interval;
        return d;
      }
      // The fence kills AMS at the kill deadline unless a retry succeeds.
      d.summary = "leader: cannot renew the gate row (" + renewed.status().message() +
                  "); AMS is killed in " + Seconds(Until(FenceDeadline())) +
                  " unless the database answers";
      d.next_step = std::min(RetryStep(), Until(FenceDeadline()));
      return d;
    }
  }
  // AMS is killed by then unless renewed: before the row can expire.
  row_deadline_ = KillDeadline(write_start);
  d.next_step = LeaderStep();
  if (ams_running) {
    d.summary = "leader: AMS running";
    return d;
  }
  d.action = GateDecision::Action::kStartAms;
  d.summary = "leader: starting AMS (the lease names this pod and expires in " +
              Seconds(milliseconds(lease.ExpiresInMs())) + "; this gate holds the gate row)";
  return d;
}

GateDecision AmsGate::WaitForRow() {
  GateDecision d;
  d.next_step = gate_.poll_interval;
  auto read = store_->Read(gate_key());
  if (!read.ok()) {
    d.status = read.status();
    d.summary = "leader: waiting for the previous AMS to stop (cannot read the gate row: " +
                read.status().message() + ")";
    return d;
  }
  const std::optional<LeaseRecord>& row = read.value();
  if (!row || !row->node_id || row->Expired()) {
    d.summary = "leader: the gate row was just given up; taking it";
    d.next_step = milliseconds(0);
    return d;
  }
  if (OursByUid(*row, me_.pod_uid)) {
    // Left by an earlier gate process of this very pod: its AMS died with
    // it (PR_SET_PDEATHSIG; a container restart kills the whole container).
    const MonoTime write_start = clock_->Now();
    const milliseconds ttl = RowTtl();
    auto moved = store_->HandOver(gate_key(), *row->node_id, row->version, Holder(), ttl);
    if (!moved.ok()) {
      d.status = moved.status();
      d.summary = "leader: cannot take over this pod's own gate row: " + moved.status().message();
      d.next_step = moved.status().IsConflict() ? milliseconds(0) : gate_.poll_interval;
      return d;
    }
    row_ = moved.value();
    Anchor(*row_);
    row_deadline_ = KillDeadline(write_start);
    d.action = GateDecision::Action::kStartAms;
    d.summary = "leader: starting AMS (took over the gate row of this pod's previous gate process)";
    d.next_step = LeaderStep();
    return d;
  }
  const milliseconds expires_in(std::max<int64_t>(row->ExpiresInMs(), 0));
  d.summary = "leader: waiting for " + PodOf(*row) + "'s AMS to stop (gate row expires in " +
              Seconds(expires_in) + ")";
  // A release wakes us by NOTIFY; the expiry by this timer.
  d.next_step = std::min(gate_.poll_interval, expires_in + milliseconds(10));
  return d;
}

Status AmsGate::RenewRow() {
  if (!row_) return ConflictError("this gate holds no gate row");
  const MonoTime write_start = clock_->Now();
  auto renewed = store_->RenewWithInfo(gate_key(), node_id_, row_->version, RowTtl(), RowInfo());
  if (renewed.ok()) {
    row_ = renewed.value();
    Anchor(*row_);
    row_deadline_ = KillDeadline(write_start);
    return Status::Ok();
  }
  if (!renewed.status().IsConflict()) return renewed.status();
  auto row = store_->Read(gate_key());
  if (row.ok() && row.value() && row.value()->node_id == node_id_ && !row.value()->Expired()) {
    row_ = row.value();  // a renewal whose reply was lost; renew next time
    return Status::Ok();
  }
  if (!row.ok()) return row.status();
  row_.reset();
  return renewed.status();
}

Status AmsGate::ReleaseRow() {
  if (!row_) return Status::Ok();
  Status released = store_->Release(gate_key(), node_id_, row_->version);
  if (released.IsConflict()) {
    // The version may have moved under a renewal whose reply was lost.
    auto row = store_->Read(gate_key());
    if (row.ok() && row.value() && row.value()->node_id == node_id_ && !row.value()->Expired()) {
      released = store_->Release(gate_key(), node_id_, row.value()->version);
    }
  }
  if (released.ok() || released.IsConflict()) {
    row_.reset();
    row_deadline_.reset();
  }
  return released;
}

}  // namespace amsha
