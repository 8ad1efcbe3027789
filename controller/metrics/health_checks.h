// HealthChecks: the answers of /healthz and /readyz.
//
//   liveness  (/healthz): the process is alive and its loops are turning:
//             every registered loop started a pass within `stall_after`.
//             A loop that has not passed yet is judged from when it was
//             registered, so start-up is not a stall.
//   readiness (/readyz):  every registered condition holds (for the
//             controller: config loaded, database reachable, pod watch
//             synced).
// Each answer is one line that says why, e.g.
//   "ok: 2 loops turning"  /  "stalled: cluster prod last pass 75s ago"
//   "ready: config, database, pod watch prod"  /  "not ready: database: connection refused"
// run_command registers the loops and conditions; ObservabilityServer asks.
// Heartbeat and Condition are the cells the controller's own threads update.
// Thread safety: every method may be called from any thread.
#ifndef AMS_HA_METRICS_HEALTH_CHECKS_H_
#define AMS_HA_METRICS_HEALTH_CHECKS_H_

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace amsha {

struct HealthAnswer {
  bool ok = false;
  std::string message;
};

class HealthChecks {
 public:
  HealthChecks(const Clock* clock, std::chrono::milliseconds stall_after);

  // `last_pass` returns when the loop last started a pass (MonoTime{} when
  // never).
  void AddLoop(const std::string& name, std::function<MonoTime()> last_pass);
  // `problem` returns "" while the condition holds, else why not.
  void AddCondition(const std::string& name, std::function<std::string()> problem);

  HealthAnswer Live() const;
  HealthAnswer Ready() const;

  std::chrono::milliseconds stall_after() const { return stall_after_; }

 private:
  struct Loop {
    std::string name;
    std::function<MonoTime()> last_pass;
    MonoTime added;
  };
  struct Condition {
    std::string name;
    std::function<std::string()> problem;
  };

  const Clock* const clock_;
  const std::chrono::milliseconds stall_after_;
  mutable std::mutex mu_;
  std::vector<Loop> loops_;
  std::vector<Condition> conditions_;
};

// When a loop last turned, for loops that have no LastPass() of their own.
class Heartbeat {
 public:
  explicit Heartbeat(const Clock* clock) : clock_(clock) {}
  void Beat() {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = clock_->Now();
  }
  MonoTime Last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  const Clock* const clock_;
  mutable std::mutex mu_;
  MonoTime last_{};
};

// A readiness condition set by the thread that observes it: "" when it
// holds, else why not.
class ConditionCell {
 public:
  explicit ConditionCell(std::string initial_problem) : problem_(std::move(initial_problem)) {}
  void Set(std::string problem) {
    std::lock_guard<std::mutex> lock(mu_);
    problem_ = std::move(problem);
  }
  std::string Problem() const {
    std::lock_guard<std::mutex> lock(mu_);
    return problem_;
  }

 private:
  mutable std::mutex mu_;
  std::string problem_;
};

}  // namespace amsha

#endif  // AMS_HA_METRICS_HEALTH_CHECKS_H_
