#include "metrics/health_checks.h"

namespace amsha {
namespace {

std::string Seconds(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

// The answer is one line whatever a condition says.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

HealthChecks::HealthChecks(const Clock* clock, std::chrono::milliseconds stall_after)
    : clock_(clock), stall_after_(stall_after) {}

void HealthChecks::AddLoop(const std::string& name, std::function<MonoTime()> last_pass) {
  std::lock_guard<std::mutex> lock(mu_);
  loops_.push_back({name, std::move(last_pass), clock_->Now()});
}

void HealthChecks::AddCondition(const std::string& name, std::function<std::string()> problem) {
  std::lock_guard<std::mutex> lock(mu_);
  conditions_.push_back({name, std::move(problem)});
}

HealthAnswer HealthChecks::Live() const {
  std::lock_guard<std::mutex> lock(mu_);
  MonoTime now = clock_->Now();
  std::string stalled;
  for (const Loop& loop : loops_) {
    MonoTime last = loop.last_pass();
    bool never = last == MonoTime{};
    auto since = now - (never ? loop.added : last);
    if (since <= stall_after_) continue;
    stalled += (stalled.empty() ? "" : "; ") + loop.name +
               (never ? " has not passed in " : " last pass ") + Seconds(since) +
               (never ? "" : " ago");
  }
  if (!stalled.empty()) {
    return {false, "stalled: " + stalled + " (bound " + Seconds(stall_after_) + ")"};
  }
  return {true, "ok: " + std::to_string(loops_.size()) + (loops_.size() == 1 ? " loop" : " loops") +
                    " turning"};
}

HealthAnswer HealthChecks::Ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string problems, names;
  for (const Condition& c : conditions_) {
    std::string problem = c.problem();
    names += (names.empty() ? "" : ", ") + c.name;
    if (!problem.empty()) problems += (problems.empty() ? "" : "; ") + c.name + ": " + problem;
  }
  if (!problems.empty()) return {false, "not ready: " + OneLine(problems)};
  return {true, "ready: " + names};
}

}  // namespace amsha
