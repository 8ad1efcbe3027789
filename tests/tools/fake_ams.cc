// fake-ams: a stand-in for one AMS process in end-to-end tests, the demo and
// benchmarks.
//
//   fake-ams --name ams-0 --listen 127.0.0.2:1630 [--listen 127.0.0.2:1260]
//            [--journal FILE]
//
// Listens on each address and answers every connection with its name and a
// newline, then closes it, so a client connecting "through ams-leader" sees
// who answered. With --journal it appends "start <monotonic ns> <name>" when
// it is serving and "stop <monotonic ns> <name>" when it stops (SIGTERM or
// SIGINT), so tests can prove that no two AMS processes were ever active at
// the same instant (CLOCK_MONOTONIC is shared by all processes of a machine).
// SIGUSR1 makes it hang like a wedged JVM or a lost node: it closes its
// listeners (connections are refused, probes fail) but keeps running and
// stays active in the journal until it is stopped.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "support/ams_journal.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_hang{false};

void OnSignal(int) { g_stop = true; }
void OnHang(int) { g_hang = true; }

void Journal(const std::string& path, const char* what, const std::string& name) {
  amsha::testing::AppendJournalLine(path, what, name);
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

}  // namespace

int main(int argc, char** argv) {
  std::string name, journal;
  std::vector<std::string> addresses;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--name") {
      name = argv[i + 1];
    } else if (flag == "--listen") {
      addresses.push_back(argv[i + 1]);
    } else if (flag == "--journal") {
      journal = argv[i + 1];
    } else {
      std::fprintf(stderr, "fake-ams: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (name.empty() || addresses.empty()) {
    std::fprintf(stderr, "usage: fake-ams --name NAME --listen IP:PORT... [--journal FILE]\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction hang {};
  hang.sa_handler = OnHang;
  sigaction(SIGUSR1, &hang, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<pollfd> fds;
  for (const std::string& a : addresses) {
    int fd = Listen(a);
    if (fd < 0) return 1;
    fds.push_back({fd, POLLIN, 0});
  }
  Journal(journal, "start", name);
  std::printf("serving %s\n", name.c_str());
  std::fflush(stdout);
  const std::string reply = name + "\n";
  while (!g_stop) {
    if (g_hang && !fds.empty()) {
      for (pollfd& p : fds) close(p.fd);
      fds.clear();
    }
    int n = poll(fds.data(), fds.size(), 200);
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
  Journal(journal, "stop", name);
  return 0;
}
