#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "election/prober.h"

namespace amsha {
namespace {

// A listening socket on an ephemeral loopback port (no thread needed: the
// kernel completes the handshake into the backlog).
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 8);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(TcpProberTest, SucceedsWhenSomethingListens) {
  Listener l;
  EXPECT_TRUE(TcpProber().Probe("127.0.0.1", l.port(), std::chrono::milliseconds(500)));
}

TEST(TcpProberTest, FailsWhenTheConnectionIsRefused) {
  Listener l;
  int port = l.port();
  l.Close();
  EXPECT_FALSE(TcpProber().Probe("127.0.0.1", port, std::chrono::milliseconds(500)));
}

TEST(TcpProberTest, FailsOnAnAddressThatIsNotAnIp) {
  EXPECT_FALSE(TcpProber().Probe("not-an-ip", 80, std::chrono::milliseconds(100)));
}

}  // namespace
}  // namespace amsha
