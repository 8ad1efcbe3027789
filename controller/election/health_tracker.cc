#include "election/health_tracker.h"

namespace amsha {

void HealthTracker::ObservePods(const std::vector<Pod>& pods) {
  MonoTime now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, State> next;
  for (const Pod& pod : pods) {
    seen_.insert(pod.uid);
    State state;
    auto it = states_.find(pod.uid);
    if (it != states_.end()) state = it->second;
    bool ready = pod.ready && !pod.pod_ip.empty();
    if (ready) {
      state.not_ready_since.reset();
    } else if (!state.not_ready_since) {
      state.not_ready_since = now;
    }
    next[pod.uid] = state;
  }
  states_.swap(next);
}

bool HealthTracker::RecordProbe(const std::string& uid, bool ok) {
  MonoTime now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  State& state = states_[uid];
  if (ok) {
    state.probe_failures = 0;
    return true;
  }
  if (state.probe_grace_until && now < *state.probe_grace_until) return false;
  ++state.probe_failures;
  return true;
}

void HealthTracker::GraceProbes(const std::string& uid, MonoTime until) {
  std::lock_guard<std::mutex> lock(mu_);
  State& state = states_[uid];
  state.probe_grace_until = until;
  state.probe_failures = 0;
}

std::optional<MonoTime> HealthTracker::NotReadySince(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(uid);
  if (it == states_.end()) return std::nullopt;
  return it->second.not_ready_since;
}

int HealthTracker::ConsecutiveProbeFailures(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(uid);
  return it == states_.end() ? 0 : it->second.probe_failures;
}

bool HealthTracker::EverSeen(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.count(uid) > 0;
}

}  // namespace amsha
