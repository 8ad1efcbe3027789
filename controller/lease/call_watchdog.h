// CallWatchdog: cuts the socket of a database call the server does not answer.
//
// Client libraries wait in poll() without a deadline once a statement is
// sent (libpq), or retry reads past their own timeouts (some MySQL clients),
// and a server-side statement timeout is enforced by the server, so a frozen
// server or a network that drops packets would block the caller for good.
// shutdown() on the socket wakes that wait; the library then reports a
// broken connection and the engine adapter turns it into kUnavailable.
// Used by every SqlLeaseEngine adapter (lease/sql_lease_store.h). One thread
// per instance, idle unless a call is armed. Arm/Disarm from one thread.
#ifndef AMS_HA_LEASE_CALL_WATCHDOG_H_
#define AMS_HA_LEASE_CALL_WATCHDOG_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace amsha {

class CallWatchdog {
 public:
  CallWatchdog();
  ~CallWatchdog();

  CallWatchdog(const CallWatchdog&) = delete;
  CallWatchdog& operator=(const CallWatchdog&) = delete;

  // Cuts `fd` (shutdown, not close: the library still owns it) if the call
  // is still armed at `deadline`.
  void Arm(int fd, std::chrono::steady_clock::time_point deadline);

  // Returns true if the deadline passed and the socket was cut. After this
  // returns the watchdog no longer touches the descriptor.
  bool Disarm();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool armed_ = false;
  bool fired_ = false;
  int fd_ = -1;
  std::chrono::steady_clock::time_point deadline_;
  std::thread thread_;  // last: starts after the fields it reads
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_CALL_WATCHDOG_H_
