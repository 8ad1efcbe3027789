// Cancellation: a one-shot stop signal shared by a loop and its owner.
//
// Loops sleep with WaitFor() instead of sleep_for() so that shutdown wakes
// them at once; blocking I/O registers a callback with OnCancel() to abort.
// Thread-safe.
#ifndef AMS_HA_COMMON_CANCELLATION_H_
#define AMS_HA_COMMON_CANCELLATION_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace amsha {

class Cancellation {
 public:
  // Sets the signal, wakes every waiter and runs the registered callbacks.
  void Cancel() {
    std::vector<std::pair<int, std::function<void()>>> callbacks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      callbacks.swap(callbacks_);
    }
    cv_.notify_all();
    for (auto& entry : callbacks) entry.second();
  }

  bool IsCancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

  // Sleeps for `d` or until cancelled; returns true if cancelled.
  template <typename Rep, typename Period>
  bool WaitFor(std::chrono::duration<Rep, Period> d) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, d, [this] { return cancelled_; });
  }

  // Runs `cb` on Cancel() (at once if already cancelled). Returns an id for
  // RemoveCallback(), so a per-request callback does not outlive its request.
  int OnCancel(std::function<void()> cb) const {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!cancelled_) {
        callbacks_.emplace_back(++next_id_, std::move(cb));
        return next_id_;
      }
    }
    cb();
    return 0;
  }

  void RemoveCallback(int id) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = callbacks_.begin(); it != callbacks_.end(); ++it) {
      if (it->first == id) {
        callbacks_.erase(it);
        return;
      }
    }
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool cancelled_ = false;
  mutable int next_id_ = 0;
  mutable std::vector<std::pair<int, std::function<void()>>> callbacks_;
};

}  // namespace amsha

#endif  // AMS_HA_COMMON_CANCELLATION_H_
