// ChildProcess: a program started by a test (controller replicas, fake-ams,
// the gate), in its own process group, with its output in a log file.
//
//   ChildProcess ctl({bin, "run", "--config", path}, {{"POD_NAME", "ctl-0"}}, dir + "/ctl-0.log");
//   ASSERT_TRUE(ctl.Start().ok());
//   ctl.Signal(SIGKILL);
//
// The destructor kills the whole group (SIGKILL) and reaps it. Thread-
// compatible: one test thread owns it.
#ifndef AMS_HA_TESTS_SUPPORT_CHILD_PROCESS_H_
#define AMS_HA_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace amsha::testing {

class ChildProcess {
 public:
  // `env` is added to (and overrides) the test's own environment.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
               std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  Status Start();
  bool Running();
  // Sends `sig` to the process group.
  void Signal(int sig);
  // Waits for the exit; returns the exit code (128+signal when killed), or
  // nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; returns the exit code.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // Waits until the log contains `text`; false on timeout or exit.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout);
  std::string Log() const;
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

 private:
  std::vector<std::string> argv_;
  std::map<std::string, std::string> env_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_CHILD_PROCESS_H_
