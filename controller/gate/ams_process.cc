#include "gate/ams_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace amsha {
namespace {

using std::chrono::milliseconds;

// How often Stop() looks whether the process has exited.
constexpr milliseconds kReapPoll{5};

int StatusOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

StatusOr<std::string> ResolveExecutable(const std::string& name) {
  if (name.empty()) return InvalidArgumentError("the AMS command is empty");
  if (name.find('/') != std::string::npos) {
    if (IsExecutableFile(name)) return name;
    return NotFoundError("AMS command " + name + " is not an executable file");
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return NotFoundError("AMS command " + name + " not found in $PATH");
}

AmsProcess::AmsProcess(std::vector<std::string> argv) : argv_(std::move(argv)) {}

AmsProcess::~AmsProcess() {
  if (running_) {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

Status AmsProcess::Start() {
  if (running_) return FailedPreconditionError("AMS is already running");
  if (argv_.empty()) return InvalidArgumentError("no AMS command given after --");
  auto path = ResolveExecutable(argv_[0]);
  if (!path.ok()) return path.status();
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls until exec.
  std::vector<char*> args;
  for (std::string& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  const std::string& file = path.value();
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return InternalError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(137);  // the gate died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(file.c_str(), args.data());
    ::_exit(127);
  }
  // Also here, so that a Signal() right after Start() reaches the group.
  ::setpgid(pid, pid);
  std::lock_guard<std::mutex> lock(mu_);
  pid_ = pid;
  running_ = true;
  exit_status_.reset();
  return Status::Ok();
}

void AmsProcess::Reaped(int wait_status) {
  running_ = false;
  exit_status_ = StatusOf(wait_status);
}

void AmsProcess::ReapLocked() {
  // As PID 1 every orphan of the container is ours to reap, AMS among them.
  const bool init = ::getpid() == 1;
  if (!running_ && !init) return;
  while (true) {
    // Look without reaping first: AMS's pid (its process group id) stays
    // taken until it is reaped, so the fence can be disarmed safely.
    siginfo_t info{};
    if (::waitid(init ? P_ALL : P_PID, init ? 0 : static_cast<id_t>(pid_), &info,
                 WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid == 0) {
      return;
    }
    const pid_t exited = info.si_pid;
    const bool ams = running_ && exited == pid_;
    if (ams) {
      // Whatever AMS left behind in its group goes with it, then the fence
      // lets go of the group id.
      ::kill(-pid_, SIGKILL);
      if (before_reap_) before_reap_();
    }
    int status = 0;
    if (::waitpid(exited, &status, 0) != exited) return;
    if (ams) Reaped(status);
    if (!init) return;
  }
}

bool AmsProcess::Running() {
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked();
  return running_;
}

void AmsProcess::Signal(int signal) {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) ::kill(-pid_, signal);
}

int AmsProcess::Stop(int first_signal, milliseconds grace) {
  if (!Running()) return exit_status_.value_or(0);
  Signal(first_signal);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (Running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kReapPoll);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) {
    ::kill(-pid_, SIGKILL);
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
    if (before_reap_) before_reap_();
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) Reaped(status);
  }
  return exit_status_.value_or(128 + SIGKILL);
}

}  // namespace amsha
