// Clock: the one source of local time for the core.
//
// The election logic reads time only through this interface so that every
// timing rule (renew deadline, grace periods, probe thresholds) is tested
// instantly with FakeClock. Lease expiry itself is never judged on this
// clock: the database server's clock decides it inside the SQL statement.
// Monotonic time is for deadlines; wall time only for logs and Events.
// Thread safety: implementations must be safe to call from any thread.
#ifndef AMS_HA_COMMON_CLOCK_H_
#define AMS_HA_COMMON_CLOCK_H_

#include <chrono>
#include <mutex>

namespace amsha {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;
  virtual WallTime WallNow() const = 0;
};

// The process clocks.
class RealClock : public Clock {
 public:
  MonoTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  static RealClock* Get();
};

// A clock that moves only when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  FakeClock() = default;
  MonoTime Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return mono_;
  }
  WallTime WallNow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return wall_;
  }
  void Advance(std::chrono::nanoseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    mono_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  MonoTime mono_{std::chrono::hours(1000)};
  WallTime wall_{std::chrono::seconds(1'800'000'000)};
};

}  // namespace amsha

#endif  // AMS_HA_COMMON_CLOCK_H_
