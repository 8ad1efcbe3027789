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

bool HealthTracker::InStartLocked(const State& state, MonoTime now) const {
  return state.starting && !state.served && state.start_cap && now < *state.start_cap;
}

bool HealthTracker::RecordProbe(const std::string& uid, bool ok) {
  MonoTime now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  State& state = states_[uid];
  if (ok) {
    state.probe_failures = 0;
    state.served = true;
    return true;
  }
  if (InStartLocked(state, now)) return false;
  ++state.probe_failures;
  return true;
}

void HealthTracker::StartTerm(const std::string& uid, MonoTime start_cap) {
  std::lock_guard<std::mutex> lock(mu_);
  State& state = states_[uid];
  state.probe_failures = 0;
  state.start_cap = start_cap;
  state.starting = true;
  state.served = false;
  state.failed_last_term = false;
}

void HealthTracker::EndTerm(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  State& state = states_[uid];
  if (state.probe_failures > 0) state.failed_last_term = true;
  state.probe_failures = 0;
  state.start_cap.reset();
  state.starting = false;
  state.served = false;
}

void HealthTracker::SetStarting(const std::string& uid, bool starting) {
  std::lock_guard<std::mutex> lock(mu_);
  states_[uid].starting = starting;
}

void HealthTracker::MarkServed(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  states_[uid].served = true;
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

bool HealthTracker::InStart(const std::string& uid) const {
  MonoTime now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(uid);
  return it != states_.end() && InStartLocked(it->second, now);
}

bool HealthTracker::Served(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(uid);
  return it != states_.end() && it->second.served;
}

bool HealthTracker::FailedWhenLastLed(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(uid);
  return it != states_.end() && it->second.failed_last_term;
}

bool HealthTracker::EverSeen(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.count(uid) > 0;
}

}  // namespace amsha
