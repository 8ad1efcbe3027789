// The libpqxx LISTEN connection shared by PostgresLeaseNotifier and
// LeaseRowFeed; pqxx exceptions end a connection's life here and never
// leave this file.
#include "lease/postgres_listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>
#include <utility>

#include "common/backoff.h"
#include "lease/lease_change_notifier.h"
#include "lease/postgres_conninfo.h"
#include "lease/postgres_errors.h"

namespace amsha {
namespace {

class PostgresListener : public LeaseListener {
 public:
  PostgresListener(LeaseDatabaseOptions options, Callbacks callbacks)
      : options_(std::move(options)),
        conninfo_(ComposeConnInfo(options_.url, options_.password, options_.connect_timeout)),
        callbacks_(std::move(callbacks)) {
    if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) wake_pipe_[0] = wake_pipe_[1] = -1;
    thread_ = std::thread([this] { Run(); });
  }

  ~PostgresListener() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    Poke();
    thread_.join();
    for (int fd : wake_pipe_) {
      if (fd >= 0) ::close(fd);
    }
  }

  bool Listening() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return listening_;
  }

  void DropConnection() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);
  }

 private:
  class Receiver : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& c, PostgresListener* owner)
        : pqxx::notification_receiver(c, kLeaseChannel), owner_(owner) {}
    void operator()(const std::string& payload, int) override {
      if (owner_->callbacks_.on_notification) owner_->callbacks_.on_notification(payload);
    }

   private:
    PostgresListener* owner_;
  };

  void Poke() {
    if (wake_pipe_[1] < 0) return;
    char c = 1;
    ssize_t ignored = ::write(wake_pipe_[1], &c, 1);
    (void)ignored;
  }

  void DrainPokes() {
    char buf[64];
    while (wake_pipe_[0] >= 0 && ::read(wake_pipe_[0], buf, sizeof(buf)) > 0) {
    }
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }

  // A silent network would leave the socket waiting forever: keepalives
  // (10 s idle, then 5 probes 4 s apart) and TCP_USER_TIMEOUT bound that.
  static void KeepAlive(int fd) {
    int one = 1, idle = 10, interval = 4, count = 5, user_timeout_ms = 30000;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
  }

  struct Ended {
    bool listened = false;  // LISTEN took effect before the end
    std::string why;        // "" when stopping
  };

  // One connection's life: connect, LISTEN, deliver until it breaks.
  Ended ListenOnce() {
    std::unique_ptr<pqxx::connection> conn;
    std::unique_ptr<Receiver> receiver;
    Ended ended;
    try {
      conn = std::make_unique<pqxx::connection>(conninfo_);
      receiver = std::make_unique<Receiver>(*conn, this);  // issues LISTEN
      KeepAlive(conn->sock());
      {
        std::lock_guard<std::mutex> lock(mu_);
        socket_ = conn->sock();
        listening_ = true;
      }
      ended.listened = true;
      if (callbacks_.on_listening) callbacks_.on_listening();
      while (!Stopping()) {
        pollfd fds[2] = {{conn->sock(), POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
        int n = ::poll(fds, 2, -1);
        if (n < 0) continue;  // EINTR
        if (fds[1].revents) DrainPokes();
        if (fds[0].revents) {
          conn->get_notifs();  // throws broken_connection once the peer is gone
          if (!conn->is_open()) throw pqxx::broken_connection("connection closed");
        }
      }
    } catch (const std::exception& e) {
      ended.why = RedactSecret(PrimaryErrorLine(e.what()), options_.password);
      if (ended.why.empty()) ended.why = "connection failed";
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      socket_ = -1;
      listening_ = false;
    }
    // Close first, so that dropping the receiver sends no UNLISTEN (and
    // libpqxx does not try to reconnect for it).
    if (conn) conn->disconnect();
    receiver.reset();
    conn.reset();
    return ended;
  }

  void Run() {
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(5000));
    bool first = true;
    while (!Stopping()) {
      Ended ended = ListenOnce();
      if (Stopping()) break;
      if (ended.listened) backoff.Reset();
      // Once per outage, not once per attempt.
      if ((ended.listened || first) && callbacks_.on_lost) callbacks_.on_lost(ended.why);
      first = false;
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, backoff.Next(), [this] { return stop_; });
    }
  }

  const LeaseDatabaseOptions options_;
  const std::string conninfo_;  // holds the password: never logged
  const Callbacks callbacks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool listening_ = false;
  bool stop_ = false;
  int socket_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;  // last: starts after the fields it reads
};

}  // namespace

StatusOr<std::unique_ptr<LeaseListener>> StartPostgresListener(LeaseDatabaseOptions options,
                                                               LeaseListener::Callbacks callbacks) {
  if (options.connect_timeout.count() <= 0) {
    return InvalidArgumentError("database connect timeout must be positive");
  }
  return std::unique_ptr<LeaseListener>(
      std::make_unique<PostgresListener>(std::move(options), std::move(callbacks)));
}

}  // namespace amsha
