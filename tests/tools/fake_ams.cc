// fake-ams: a stand-in for one AMS process in end-to-end tests, the demo and
// benchmarks, timed like the real one (a JVM) when asked to.
//
//   fake-ams --name ams-0 --listen 127.0.0.2:1630 [--listen 127.0.0.2:1260]
//            [--journal FILE] [--start-delay 8s] [--stop-delay 1.5s]
//            [--ignore-sigterm]
//
// Listens on each address and answers every connection with its name and a
// newline, then closes it, so a client connecting "through ams-leader" sees
// who answered.
//   --start-delay D   opens the ports only D after the process started (a
//                     JVM needs seconds before AMS listens); it counts as a
//                     running AMS from the start all the same.
//   --stop-delay D    after SIGTERM/SIGINT it takes D to exit (AMS's own
//                     shutdown: about 1.5 s); it keeps serving meanwhile.
//   --ignore-sigterm  SIGTERM and SIGINT do nothing: only SIGKILL ends it
//                     (a wedged JVM).
// SIGUSR1 makes it hang like a wedged JVM or a lost node: it closes its
// listeners (connections are refused, probes fail) but keeps running.
//
// With --journal it appends "start <monotonic ns> <name>" when the process
// starts and "stop <monotonic ns> <name>" when it stops, however it stops
// (SIGKILL included), so tests can prove that no two AMS processes were ever
// alive at the same instant (CLOCK_MONOTONIC is shared by all processes of
// a machine). A fake-ams that exits by itself writes its stop line as its
// last act, then tells its watcher so. The watcher is a small process forked
// at start, in a session of its own (a kill of AMS's process group does not
// reach it): it holds the read end of a pipe whose write end only fake-ams
// holds, and when it reads end-of-file without having been told, fake-ams
// died without a word (SIGKILL): it writes the stop line then, after the
// kernel closed fake-ams's descriptors, so never earlier than the death.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/ams_journal.h"

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_hang{false};

void OnSignal(int) { g_stop = true; }
void OnHang(int) { g_hang = true; }

// "8s", "1.5s", "500ms" -> milliseconds; -1 when malformed.
long long ParseDuration(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::string unit = end ? end : "";
  if (end == text.c_str() || value < 0) return -1;
  if (unit == "ms") return static_cast<long long>(value);
  if (unit == "s") return static_cast<long long>(value * 1000);
  return -1;
}

// Forks the watcher that journals the stop of this process (see the top).
// Returns the write end of its pipe, which this process keeps open until it
// dies; -1 when there is no journal.
int StartStopWatcher(const std::string& journal, const std::string& name) {
  if (journal.empty()) return -1;
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    setsid();
    // Only the read end stays open: no listener, no log or test pipe.
    for (int fd = 0; fd < 1024; ++fd) {
      if (fd != fds[0]) close(fd);
    }
    char byte;
    bool journaled = false;
    while (true) {
      ssize_t n = read(fds[0], &byte, 1);
      if (n == 1) journaled = true;  // fake-ams wrote its own stop line
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    if (!journaled) amsha::testing::AppendJournalLine(journal, "stop", name);
    _exit(0);
  }
  close(fds[0]);
  return fds[1];
}

int Listen(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return -1;
  std::string ip = address.substr(0, colon);
  int port = std::atoi(address.substr(colon + 1).c_str());
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0) {
    std::fprintf(stderr, "fake-ams: cannot listen on %s: %s\n", address.c_str(),
                 std::strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

int Usage() {
  std::fprintf(stderr,
               "usage: fake-ams --name NAME --listen IP:PORT... [--journal FILE]"
               " [--start-delay D] [--stop-delay D] [--ignore-sigterm]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const auto started = Clock::now();
  std::string name, journal;
  std::vector<std::string> addresses;
  long long start_delay_ms = 0, stop_delay_ms = 0;
  bool ignore_sigterm = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--ignore-sigterm") {
      ignore_sigterm = true;
      continue;
    }
    if (i + 1 >= argc) return Usage();
    std::string value = argv[++i];
    if (flag == "--name") {
      name = value;
    } else if (flag == "--listen") {
      addresses.push_back(value);
    } else if (flag == "--journal") {
      journal = value;
    } else if (flag == "--start-delay" || flag == "--stop-delay") {
      long long ms = ParseDuration(value);
      if (ms < 0) {
        std::fprintf(stderr, "fake-ams: %s wants a duration like 8s or 1500ms\n", flag.c_str());
        return 2;
      }
      (flag == "--start-delay" ? start_delay_ms : stop_delay_ms) = ms;
    } else {
      std::fprintf(stderr, "fake-ams: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (name.empty() || addresses.empty()) return Usage();
  struct sigaction sa {};
  sa.sa_handler = ignore_sigterm ? SIG_IGN : OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction hang {};
  hang.sa_handler = OnHang;
  sigaction(SIGUSR1, &hang, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // A running AMS from here on, whether or not it listens yet.
  amsha::testing::AppendJournalLine(journal, "start", name);
  // Closed by the kernel when this process dies, however it dies.
  const int watcher = StartStopWatcher(journal, name);

  std::vector<pollfd> fds;
  bool listening = false;
  std::optional<Clock::time_point> exit_at;
  const std::string reply = name + "\n";
  while (true) {
    const auto now = Clock::now();
    if (g_stop && !exit_at) exit_at = now + std::chrono::milliseconds(stop_delay_ms);
    if (exit_at && now >= *exit_at) break;
    if (!listening && !g_hang && now - started >= std::chrono::milliseconds(start_delay_ms)) {
      for (const std::string& a : addresses) {
        int fd = Listen(a);
        if (fd < 0) return 1;
        fds.push_back({fd, POLLIN, 0});
      }
      listening = true;
      std::printf("serving %s\n", name.c_str());
      std::fflush(stdout);
    }
    if (g_hang && !fds.empty()) {
      for (pollfd& p : fds) close(p.fd);
      fds.clear();
    }
    if (fds.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    int n = poll(fds.data(), fds.size(), 20);
    if (n <= 0) continue;
    for (pollfd& p : fds) {
      if (!(p.revents & POLLIN)) continue;
      int c = accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ssize_t ignored = write(c, reply.data(), reply.size());
      (void)ignored;
      close(c);
    }
  }
  for (pollfd& p : fds) close(p.fd);
  amsha::testing::AppendJournalLine(journal, "stop", name);
  if (watcher >= 0) {
    ssize_t told = write(watcher, "x", 1);
    (void)told;
  }
  return 0;
}
