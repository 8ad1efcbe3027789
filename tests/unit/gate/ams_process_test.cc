// AmsProcess with real (tiny) shell commands: process groups, signals and
// exit statuses are the kernel's, so they are checked against the kernel.
#include "gate/ams_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Signal 0 sends nothing: Stop() then just waits for the exit.
constexpr int kNoSignal = 0;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "ams_process_test_" + std::to_string(::getpid()) + "_" + name;
}

// Waits for `path` to hold a pid; the command writes it first thing.
pid_t ReadPid(const std::string& path) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(path);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return 0;
}

// True once `pid` no longer exists (or is a zombie nobody waits for).
bool Gone(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content;
    if (!std::getline(stat, content)) return true;
    size_t close = content.rfind(')');
    if (close != std::string::npos && close + 2 < content.size() && content[close + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

TEST(AmsProcessTest, ReportsTheExitCodeOfACommandThatExitsOnItsOwn) {
  AmsProcess ams({"/bin/sh", "-c", "exit 7"});
  ASSERT_TRUE(ams.Start().ok());
  EXPECT_GT(ams.pid(), 0);
  EXPECT_EQ(ams.Stop(kNoSignal, seconds(10)), 7);
  EXPECT_FALSE(ams.Running());
  EXPECT_EQ(ams.ExitStatus(), 7);
}

TEST(AmsProcessTest, FindsTheCommandInPath) {
  AmsProcess ams({"sh", "-c", "exit 3"});
  ASSERT_TRUE(ams.Start().ok());
  EXPECT_EQ(ams.Stop(kNoSignal, seconds(10)), 3);
}

TEST(AmsProcessTest, AnUnknownCommandIsNotFoundBeforeAnythingIsForked) {
  auto resolved = ResolveExecutable("no-such-ams-command-anywhere");
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  AmsProcess ams({"no-such-ams-command-anywhere"});
  EXPECT_EQ(ams.Start().code(), StatusCode::kNotFound);
  EXPECT_EQ(ams.pid(), 0);
}

TEST(AmsProcessTest, SigtermReachesEveryProcessOfTheGroup) {
  std::string pid_file = TempPath("group");
  AmsProcess ams({"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"});
  ASSERT_TRUE(ams.Start().ok());
  pid_t grandchild = ReadPid(pid_file);
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(ams.Stop(SIGTERM, seconds(10)), 128 + SIGTERM);
  EXPECT_TRUE(Gone(grandchild)) << "the AMS's own child was stopped too";
  std::remove(pid_file.c_str());
}

TEST(AmsProcessTest, EscalatesToSigkillWhenSigtermIsIgnored) {
  std::string ready = TempPath("ignoring");
  AmsProcess ams({"/bin/sh", "-c", "trap '' TERM; echo $$ > " + ready + "; sleep 30"});
  ASSERT_TRUE(ams.Start().ok());
  ASSERT_GT(ReadPid(ready), 0) << "the trap is set before SIGTERM is sent";
  EXPECT_EQ(ams.Stop(SIGTERM, milliseconds(200)), 128 + SIGKILL);
  EXPECT_FALSE(ams.Running());
  std::remove(ready.c_str());
}

TEST(AmsProcessTest, AmsDiesWithTheGateThatStartedIt) {
  std::string pid_file = TempPath("orphan");
  pid_t gate = ::fork();
  ASSERT_GE(gate, 0);
  if (gate == 0) {
    // A gate that dies abruptly (no destructor, no stop).
    AmsProcess ams({"/bin/sh", "-c", "echo $$ > " + pid_file + "; exec sleep 30"});
    if (!ams.Start().ok()) std::_Exit(2);
    if (ReadPid(pid_file) <= 0) std::_Exit(3);
    std::_Exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(gate, &status, 0), gate);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  pid_t ams = ReadPid(pid_file);
  ASSERT_GT(ams, 0);
  EXPECT_TRUE(Gone(ams)) << "PR_SET_PDEATHSIG killed AMS with its gate";
  std::remove(pid_file.c_str());
}

}  // namespace
}  // namespace amsha
