// AmsRunner and AmsProcess: the AMS command the gate wraps, as a child
// process.
//
// AmsProcess starts the command in a process group of its own (so a stop
// reaches every process AMS started) with the gate's stdin/stdout/stderr,
// an empty signal mask and PR_SET_PDEATHSIG(SIGKILL): if the gate dies,
// however it dies, the kernel kills AMS too, so AMS never outlives the gate
// that fences it. When the gate is PID 1 it also reaps orphans that get
// re-parented to it. The gate loop (gate/gate_loop.h) drives it through
// AmsRunner so that the loop is unit-tested with a fake.
// Thread safety: Start, Running and Stop on the gate loop's thread (fork
// happens there, which PR_SET_PDEATHSIG ties to); Signal from any thread
// (the gate's fence enforcer), serialized with reaping by a mutex so that a
// signal never reaches a process group whose leader was already reaped.
#ifndef AMS_HA_GATE_AMS_PROCESS_H_
#define AMS_HA_GATE_AMS_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace amsha {

class AmsRunner {
 public:
  virtual ~AmsRunner() = default;

  // Starts the command. Fails when it cannot be found or forked.
  virtual Status Start() = 0;
  // Reaps without blocking; true while the process started last is alive.
  virtual bool Running() = 0;
  // Once it has exited: its exit code, or 128 + the signal that killed it.
  virtual std::optional<int> ExitStatus() const = 0;
  // Sends `signal` to the AMS process group (if it runs). Any thread.
  virtual void Signal(int signal) = 0;
  // Sends `first_signal` to the group, waits up to `grace` for the process
  // to exit, then SIGKILLs the group; returns once it is reaped, with its
  // exit status (as ExitStatus()).
  virtual int Stop(int first_signal, std::chrono::milliseconds grace) = 0;
  // The process id of the last start (0 before).
  virtual pid_t pid() const = 0;
};

class AmsProcess : public AmsRunner {
 public:
  // `argv[0]` is looked up in $PATH unless it contains a '/'.
  explicit AmsProcess(std::vector<std::string> argv);
  ~AmsProcess() override;  // SIGKILLs a process still running

  AmsProcess(const AmsProcess&) = delete;
  AmsProcess& operator=(const AmsProcess&) = delete;

  Status Start() override;
  bool Running() override;
  std::optional<int> ExitStatus() const override { return exit_status_; }
  void Signal(int signal) override;
  int Stop(int first_signal, std::chrono::milliseconds grace) override;
  pid_t pid() const override { return pid_; }

  // Called (under the reaping lock) once AMS has exited but before it is
  // reaped: while its process group id cannot be reused (the fence disarms).
  void SetBeforeReap(std::function<void()> hook) { before_reap_ = std::move(hook); }

 private:
  void ReapLocked();
  void Reaped(int wait_status);

  std::vector<std::string> argv_;
  std::mutex mu_;
  pid_t pid_ = 0;
  bool running_ = false;
  std::optional<int> exit_status_;
  std::function<void()> before_reap_;
};

// `name` resolved against $PATH like execvp would (or as is, with a '/');
// kNotFound when no executable file of that name exists.
StatusOr<std::string> ResolveExecutable(const std::string& name);

}  // namespace amsha

#endif  // AMS_HA_GATE_AMS_PROCESS_H_
