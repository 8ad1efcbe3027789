#include "gate/fence_process.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace amsha {
namespace {

// The longest the fence sleeps before it looks at the deadline again.
constexpr int64_t kMaxSleepNs = 50'000'000;
// Descriptors the fence closes (it needs none: its state is in memory).
constexpr int kMaxFd = 4096;

int64_t BootNs() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

static_assert(std::atomic<int64_t>::is_always_lock_free, "shared atomics must be lock-free");
static_assert(std::atomic<int32_t>::is_always_lock_free, "shared atomics must be lock-free");

}  // namespace

MonoTime BootClock::Now() const { return MonoTime(std::chrono::nanoseconds(BootNs())); }

BootClock* BootClock::Get() {
  static BootClock clock;
  return &clock;
}

// The fence itself. Only async-signal-safe calls from here on: the parent
// may have other threads by the time it matters (fork copied none of them,
// and any lock they held stays held forever in this process).
void FenceProcess::Run(Shared* shared, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);  // the gate died before prctl
  for (int fd = 0; fd < kMaxFd; ++fd) close(fd);
  while (shared->quit.load(std::memory_order_acquire) == 0) {
    const int32_t pgid = shared->pgid.load(std::memory_order_acquire);
    const int64_t kill_at = shared->kill_at_ns.load(std::memory_order_acquire);
    const int64_t now = BootNs();
    if (pgid > 0 && now >= kill_at) {
      kill(-pgid, SIGKILL);
      shared->fired.store(1, std::memory_order_release);
      // Disarm unless the gate armed a new group meanwhile.
      int32_t expected = pgid;
      shared->pgid.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
      continue;
    }
    int64_t wake = now + kMaxSleepNs;
    if (pgid > 0 && kill_at < wake) wake = kill_at;
    timespec until{static_cast<time_t>(wake / 1'000'000'000),
                   static_cast<long>(wake % 1'000'000'000)};
    // Absolute on CLOCK_BOOTTIME: a suspend past `wake` returns at resume.
    while (clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &until, nullptr) == EINTR) {
    }
  }
  _exit(0);
}

StatusOr<std::unique_ptr<FenceProcess>> FenceProcess::Start() {
  void* page =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return InternalError(std::string("fence: mmap: ") + std::strerror(errno));
  Shared* shared = new (page) Shared();
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    munmap(page, sizeof(Shared));
    return InternalError(std::string("fence: fork: ") + std::strerror(errno));
  }
  if (pid == 0) Run(shared, parent);
  return std::unique_ptr<FenceProcess>(new FenceProcess(shared, pid));
}

FenceProcess::~FenceProcess() {
  shared_->pgid.store(0, std::memory_order_release);
  shared_->quit.store(1, std::memory_order_release);
  int status = 0;
  waitpid(pid_, &status, 0);  // it looks at `quit` within 50 ms
  munmap(shared_, sizeof(Shared));
}

void FenceProcess::Arm(pid_t pgid, MonoTime kill_at) {
  const int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(kill_at.time_since_epoch()).count();
  // The deadline first: the fence never pairs a new group with an old one.
  shared_->kill_at_ns.store(ns, std::memory_order_release);
  if (pgid != armed_pgid_) {
    armed_pgid_ = pgid;
    shared_->fired.store(0, std::memory_order_release);
  }
  shared_->pgid.store(pgid, std::memory_order_release);
}

void FenceProcess::Disarm() { shared_->pgid.store(0, std::memory_order_release); }

bool FenceProcess::Fired() const { return shared_->fired.load(std::memory_order_acquire) != 0; }

}  // namespace amsha
