// FenceProcess against real processes: it kills a process group at the
// deadline, moves with a new deadline, lets go when disarmed, and kills at
// once when it resumes past the deadline (no SIGTERM, no grace).
#include "gate/fence_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace amsha {
namespace {

using std::chrono::milliseconds;

// A child in a process group of its own that sleeps until killed.
pid_t SleepingGroup() {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGTERM, SIG_IGN);  // only SIGKILL ends it
    while (true) pause();
  }
  setpgid(pid, pid);
  return pid;
}

// Waits up to `timeout` for `pid` to die; its signal, or 0 if it lives.
int DiedOf(pid_t pid, milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return 0;
}

// True while `pid` exists and is not a zombie (an orphan's reaper may be slow).
bool Lives(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

void Reap(pid_t pid) {
  kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
}

TEST(FenceProcessTest, KillsTheGroupWithSigkillAtTheDeadline) {
  auto fence = FenceProcess::Start();
  ASSERT_TRUE(fence.ok()) << fence.status().ToString();
  pid_t ams = SleepingGroup();
  const MonoTime deadline = BootClock::Get()->Now() + milliseconds(300);
  (*fence)->Arm(ams, deadline);
  EXPECT_EQ(DiedOf(ams, milliseconds(200)), 0) << "alive before the deadline";
  EXPECT_EQ(DiedOf(ams, milliseconds(1000)), SIGKILL);
  const auto late = BootClock::Get()->Now() - deadline;
  EXPECT_LT(late, milliseconds(200)) << "killed at the deadline";
  EXPECT_TRUE((*fence)->Fired());
}

TEST(FenceProcessTest, ANewDeadlineMovesTheKillAndDisarmLetsGo) {
  auto fence = FenceProcess::Start();
  ASSERT_TRUE(fence.ok());
  pid_t ams = SleepingGroup();
  for (int i = 0; i < 5; ++i) {  // renewed every 100 ms, each 250 ms ahead
    (*fence)->Arm(ams, BootClock::Get()->Now() + milliseconds(250));
    EXPECT_EQ(DiedOf(ams, milliseconds(100)), 0) << i;
  }
  (*fence)->Disarm();
  EXPECT_EQ(DiedOf(ams, milliseconds(500)), 0);
  EXPECT_FALSE((*fence)->Fired());
  Reap(ams);
}

TEST(FenceProcessTest, KillsWhileTheGateItselfIsStopped) {
  // The gate's side (this process's threads) does nothing after Arm.
  auto fence = FenceProcess::Start();
  ASSERT_TRUE(fence.ok());
  pid_t ams = SleepingGroup();
  (*fence)->Arm(ams, BootClock::Get()->Now() + milliseconds(100));
  EXPECT_EQ(DiedOf(ams, milliseconds(1000)), SIGKILL);
}

TEST(FenceProcessTest, AFenceResumedPastTheDeadlineKillsAtOnce) {
  auto fence = FenceProcess::Start();
  ASSERT_TRUE(fence.ok());
  pid_t ams = SleepingGroup();
  (*fence)->Arm(ams, BootClock::Get()->Now() + milliseconds(100));
  kill((*fence)->pid(), SIGSTOP);  // frozen through the deadline
  EXPECT_EQ(DiedOf(ams, milliseconds(400)), 0);
  const auto resumed = std::chrono::steady_clock::now();
  kill((*fence)->pid(), SIGCONT);
  EXPECT_EQ(DiedOf(ams, milliseconds(1000)), SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - resumed, milliseconds(100))
      << "at once on resume, not a grace later";
}

TEST(FenceProcessTest, ExitsWhenTheGateDies) {
  // A gate that forks a fence, then dies: the fence follows (PDEATHSIG).
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t gate = fork();
  if (gate == 0) {
    auto fence = FenceProcess::Start();
    pid_t pid = fence.ok() ? (*fence)->pid() : 0;
    ssize_t ignored = write(fds[1], &pid, sizeof(pid));
    (void)ignored;
    _exit(0);  // no destructor: the fence is not told
  }
  pid_t fence_pid = 0;
  ASSERT_EQ(read(fds[0], &fence_pid, sizeof(fence_pid)), static_cast<ssize_t>(sizeof(fence_pid)));
  int status = 0;
  waitpid(gate, &status, 0);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !Lives(fence_pid);
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE(gone) << "the fence outlived its gate";
  close(fds[0]);
  close(fds[1]);
}

TEST(FenceProcessTest, TheBootClockMovesLikeTheMonotonicOne) {
  const MonoTime a = BootClock::Get()->Now();
  std::this_thread::sleep_for(milliseconds(50));
  const auto d = BootClock::Get()->Now() - a;
  EXPECT_GE(d, milliseconds(50));
  EXPECT_LT(d, milliseconds(1000));
}

}  // namespace
}  // namespace amsha
