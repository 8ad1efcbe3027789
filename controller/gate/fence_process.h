// Fence and FenceProcess: what kills AMS at the gate row's kill deadline,
// even when the gate itself cannot act.
//
// The gate computes the kill deadline (AmsGate::fence_deadline(): the start
// of the last successful write of the gate row + rowTtl - safetyMargin) and
// hands it to a Fence with every renewal. FenceProcess enforces it from a
// tiny process of its own, forked by the gate before it starts any thread:
// it shares one page of memory with the gate (the AMS process group, the
// deadline in CLOCK_BOOTTIME nanoseconds, a "fired" flag), sleeps with
// clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME) until the deadline (at most
// 50 ms at a time, to see a new one), and once the deadline has passed sends
// SIGKILL to the AMS process group, then marks that it fired. It runs only
// async-signal-safe code (it was forked from a process that may later have
// threads), writes no log line, takes no lock and never touches the
// database, so a gate that is stopped (SIGSTOP), stalled in a page fault or
// blocked on a full log pipe cannot delay it. CLOCK_BOOTTIME counts time
// spent in suspend, so a machine that resumes past the deadline kills at
// once; there is no SIGTERM and no grace on this path. It dies with the gate
// (PR_SET_PDEATHSIG), as AMS does.
//
// BootClock is the gate's Clock on CLOCK_BOOTTIME, so that the deadlines the
// gate computes and the ones the fence compares share one clock.
// Thread safety: Arm from one thread at a time (the gate loop's), Disarm
// and Fired from any thread (atomics in shared memory); Start before the
// gate starts threads.
#ifndef AMS_HA_GATE_FENCE_PROCESS_H_
#define AMS_HA_GATE_FENCE_PROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "common/clock.h"
#include "common/status.h"

namespace amsha {

class Fence {
 public:
  virtual ~Fence() = default;
  // Kill AMS's process group `pgid` at `kill_at` (the gate's clock) unless
  // armed again with a later deadline first. A deadline already passed
  // kills at once.
  virtual void Arm(pid_t pgid, MonoTime kill_at) = 0;
  // Nothing to kill (AMS exited, or was never started). Call before AMS is
  // reaped, so that the fence never signals a reused process group id.
  virtual void Disarm() = 0;
  // True once the fence killed AMS since the last Arm with a new pgid.
  virtual bool Fired() const = 0;
};

class FenceProcess : public Fence {
 public:
  // Maps the shared page and forks the fence. Call while the gate has one
  // thread. kInternal when mmap or fork fails.
  static StatusOr<std::unique_ptr<FenceProcess>> Start();
  ~FenceProcess() override;  // tells the fence to exit and reaps it

  FenceProcess(const FenceProcess&) = delete;
  FenceProcess& operator=(const FenceProcess&) = delete;

  void Arm(pid_t pgid, MonoTime kill_at) override;
  void Disarm() override;
  bool Fired() const override;
  pid_t pid() const { return pid_; }

 private:
  struct Shared {
    std::atomic<int64_t> kill_at_ns{0};  // CLOCK_BOOTTIME
    std::atomic<int32_t> pgid{0};        // 0: disarmed
    std::atomic<int32_t> fired{0};
    std::atomic<int32_t> quit{0};
  };
  FenceProcess(Shared* shared, pid_t pid) : shared_(shared), pid_(pid) {}
  static void Run(Shared* shared, pid_t parent);

  Shared* shared_;
  pid_t pid_;
  pid_t armed_pgid_ = 0;  // the group of the last Arm (the gate's side only)
};

// Clock on CLOCK_BOOTTIME (monotonic, counts suspend); wall time as usual.
class BootClock : public Clock {
 public:
  MonoTime Now() const override;
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  static BootClock* Get();
};

}  // namespace amsha

#endif  // AMS_HA_GATE_FENCE_PROCESS_H_
