// TcpRelay: a TCP forwarder on 127.0.0.1 that a test can cut, to put one
// process (a gate) behind its own network path to PostgreSQL and partition
// it from the database while everything else keeps working.
//
//   TcpRelay relay(postgres.port());
//   ASSERT_TRUE(relay.Start().ok());   // then connect to relay.port()
//   relay.Cut();                       // a black hole, like a lost route
//   relay.Restore();
//
// While cut, bytes in both directions are dropped and new connections are
// accepted but never forwarded: clients hang until their own timeouts, as
// they would behind a dead network. Restore() resets every connection that
// lived through the cut (their streams lost bytes) so clients reconnect.
// Thread-safe; one thread per connection.
#ifndef AMS_HA_TESTS_SUPPORT_TCP_RELAY_H_
#define AMS_HA_TESTS_SUPPORT_TCP_RELAY_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"

namespace amsha::testing {

class TcpRelay {
 public:
  explicit TcpRelay(int target_port);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  Status Start();
  int port() const { return port_; }
  void Cut();
  void Restore();
  bool cut() const { return cut_; }

 private:
  struct Link {
    int client = -1;
    int server = -1;  // -1 when accepted during a cut
    std::atomic<bool> poisoned{false};
    std::atomic<bool> done{false};
  };
  void Accept();
  void Pump(std::shared_ptr<Link> link);
  static void Close(Link& link);

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::mutex mu_;
  std::vector<std::shared_ptr<Link>> links_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_TCP_RELAY_H_
