#include "lease/call_watchdog.h"

#include <sys/socket.h>

namespace amsha {

CallWatchdog::CallWatchdog() : thread_([this] { Loop(); }) {}

CallWatchdog::~CallWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void CallWatchdog::Arm(int fd, std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    fd_ = fd;
    deadline_ = deadline;
    armed_ = true;
    fired_ = false;
  }
  cv_.notify_all();
}

bool CallWatchdog::Disarm() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = false;
  return fired_;
}

void CallWatchdog::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (!armed_) {
      cv_.wait(lock);
    } else if (std::chrono::steady_clock::now() >= deadline_) {
      if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
      fired_ = true;
      armed_ = false;
    } else {
      cv_.wait_until(lock, deadline_);
    }
  }
}

}  // namespace amsha
