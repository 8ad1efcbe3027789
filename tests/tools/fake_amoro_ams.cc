// fake-amoro-ams: a stand-in for one Apache Amoro AMS with its own database
// HA (ha.type: database), for follow-mode tests and demos.
//
//   AMS_HA_DB_PASSWORD=... fake-amoro-ams --db URL --cluster prod --name ams-0
//       --ip 127.0.0.50 [--ttl 3s] [--heartbeat 1s] [--initial-delay 0s]
//       [--journal FILE]
//
// Every heartbeat it does what Amoro's DataBaseHighAvailabilityContainer
// does, in Amoro's order and with Amoro's own statements
// (AmoroHaWriter::Heartbeat, tests/support/amoro_ha_writer.h) and its
// client-clock timing: a follower inserts the placeholder row if absent and
// tries to acquire the AMS lease, a winner writes the TABLE_SERVICE and
// OPTIMIZING_SERVICE rows, the leader renews at the version it last saw,
// and a failed renewal ends its leadership for good: like Amoro, it never
// campaigns again until restarted. Amoro's first heartbeat runs 5 s after
// start (--initial-delay; 0 by default to keep tests short). While it leads
// it listens on <ip>:1630 and answers every connection with its name (like
// fake-ams; a real AMS serves REST on followers too), and journals
// "start/stop <CLOCK_MONOTONIC ns> <name>". On SIGTERM it stops serving and
// exits without releasing the lease (the next AMS waits for it to expire),
// as Amoro does. --db is a PostgreSQL URL or a mysql:// / mariadb:// one
// (MySQL/MariaDB: the same statements, as Amoro's mapper has one SQL for
// every database). Its database sessions carry application_name (MySQL:
// the connection attribute program_name) fake-amoro-ams.
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
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "common/duration.h"
#include "support/amoro_ha_writer.h"
#include "support/ams_journal.h"
#include "support/sql_client.h"

namespace {

using std::chrono::milliseconds;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

void Journal(const std::string& path, const char* what, const std::string& name) {
  amsha::testing::AppendJournalLine(path, what, name);
}

// Serves "<name>\n" on ip:1630 on its own thread while it exists.
class Server {
 public:
  Server(const std::string& ip, const std::string& name) : reply_(name + "\n") {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(1630);
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 64) != 0) {
      std::fprintf(stderr, "fake-amoro-ams: cannot listen on %s:1630: %s\n", ip.c_str(),
                   std::strerror(errno));
      close(fd_);
      fd_ = -1;
      return;
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~Server() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

 private:
  void Serve() {
    while (!done_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ssize_t ignored = write(c, reply_.data(), reply_.size());
      (void)ignored;
      close(c);
    }
  }
  std::string reply_;
  int fd_ = -1;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string db, cluster, name, ip, journal;
  milliseconds ttl(3000), heartbeat(1000), initial_delay(0);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--db") {
      db = value;
    } else if (flag == "--cluster") {
      cluster = value;
    } else if (flag == "--name") {
      name = value;
    } else if (flag == "--ip") {
      ip = value;
    } else if (flag == "--journal") {
      journal = value;
    } else if (flag == "--ttl" || flag == "--heartbeat" || flag == "--initial-delay") {
      auto d = amsha::ParseDuration(value);
      if (!d) {
        std::fprintf(stderr, "fake-amoro-ams: %s needs a duration\n", flag.c_str());
        return 2;
      }
      (flag == "--ttl" ? ttl : flag == "--heartbeat" ? heartbeat : initial_delay) = *d;
    } else {
      std::fprintf(stderr, "fake-amoro-ams: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (db.empty() || cluster.empty() || name.empty() || ip.empty()) {
    std::fprintf(stderr,
                 "usage: fake-amoro-ams --db URL --cluster NAME --name NAME --ip IP [--ttl 3s] "
                 "[--heartbeat 1s] [--initial-delay 0s] [--journal FILE]\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const char* password_env = std::getenv("AMS_HA_DB_PASSWORD");
  const std::string password = password_env ? password_env : "";
  // Amoro's node_id is host:port:uuid; a new uuid per process start.
  std::mt19937_64 rng(std::random_device{}());
  char uuid[17];
  std::snprintf(uuid, sizeof(uuid), "%016llx", static_cast<unsigned long long>(rng()));
  const std::string node_id = ip + ":1261:" + uuid;

  std::unique_ptr<amsha::testing::SqlClient> session;
  // Outlives sessions: leadership and revocation are the process's state.
  amsha::testing::AmoroHaWriter writer(nullptr, cluster, node_id, ip, ttl);
  std::unique_ptr<Server> server;
  std::printf("fake-amoro-ams %s node_id=%s ttl=%lldms heartbeat=%lldms\n", name.c_str(),
              node_id.c_str(), static_cast<long long>(ttl.count()),
              static_cast<long long>(heartbeat.count()));
  std::fflush(stdout);
  auto sleep_until = [](std::chrono::steady_clock::time_point until) {
    while (!g_stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(20));
    }
  };
  sleep_until(std::chrono::steady_clock::now() + initial_delay);
  bool announced_revoked = false;
  while (!g_stop) {
    if (!session) {
      auto opened = amsha::testing::OpenSqlClient(db, password, "fake-amoro-ams");
      if (opened.ok()) {
        session = std::move(opened).value();
        writer.set_session(session.get());
      }
    }
    if (session) {
      auto result = writer.Heartbeat();
      if (!result.ok()) {
        // Amoro logs it and keeps its state; reconnect next round.
        std::fprintf(stderr, "fake-amoro-ams: %s\n", result.status().ToString().c_str());
        writer.set_session(nullptr);
        session.reset();
      }
      const bool leads = writer.leads();
      if (leads && !server) {
        server = std::make_unique<Server>(ip, name);
        Journal(journal, "start", name);
        std::printf("leader %s\n", name.c_str());
        std::fflush(stdout);
      } else if (!leads && server) {
        server.reset();
        Journal(journal, "stop", name);
        std::printf("lost leadership %s\n", name.c_str());
        std::fflush(stdout);
      }
      if (writer.revoked() && !announced_revoked) {
        announced_revoked = true;
        std::printf("revoked %s: never campaigns again\n", name.c_str());
        std::fflush(stdout);
      }
    }
    sleep_until(std::chrono::steady_clock::now() + heartbeat);
  }
  if (server) {
    server.reset();
    Journal(journal, "stop", name);
  }
  return 0;
}
