// LeaseChangeNotifier: wakes a waiter as soon as a lease row of one cluster
// may have changed, so that it need not poll fast.
//
// The gate (gate/gate_loop.h) waits on it between lease reads. A wake-up is a
// hint, never a fact: the waiter reads the row and decides on what it reads,
// and it still reads every poll interval because a notification can be lost
// (a LISTEN connection that broke, a pooler that cannot carry LISTEN).
// Implementations: PostgresLeaseNotifier (LISTEN on its own connection, in
// lease/postgres_lease_store.h), PollingNotifier below (no hints at all:
// polling only; what MySQL gets, having no LISTEN/NOTIFY), FakeNotifier in
// tests.
// Thread safety: Wait() from one thread; Interrupt() from any thread (a
// signal-handling thread, say).
#ifndef AMS_HA_LEASE_LEASE_CHANGE_NOTIFIER_H_
#define AMS_HA_LEASE_LEASE_CHANGE_NOTIFIER_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace amsha {

// The PostgreSQL NOTIFY channel of ha_lease changes; the payload is the row
// as JSON or the bare cluster_name (lease/lease_notification.h).
inline constexpr char kLeaseChannel[] = "ams_ha_lease";

class LeaseChangeNotifier {
 public:
  virtual ~LeaseChangeNotifier() = default;

  // Blocks for up to `timeout`. True when a row of the cluster may have
  // changed since the previous call (a notification arrived, or listening
  // (re)started, so earlier ones may have been missed); false on timeout or
  // Interrupt().
  virtual bool Wait(std::chrono::milliseconds timeout) = 0;

  // Makes the current Wait() (or, if none, the next one) return at once.
  virtual void Interrupt() = 0;
};

// Never reports a change: Wait() sleeps until the timeout or Interrupt().
class PollingNotifier : public LeaseChangeNotifier {
 public:
  bool Wait(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return interrupted_; });
    interrupted_ = false;
    return false;
  }
  void Interrupt() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_CHANGE_NOTIFIER_H_
