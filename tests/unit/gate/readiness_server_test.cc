#include "gate/readiness_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

namespace amsha {
namespace {

// One HTTP exchange with 127.0.0.1:port; returns the whole response.
std::string Get(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    ::send(fd, request.data(), request.size(), 0);
    char buf[1024];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
  }
  ::close(fd);
  return response;
}

class ReadinessServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ReadinessServer::Start("127.0.0.1", 0, [this](const std::string& path) {
      last_path_ = path;
      return ReadinessServer::Answer{ready_.load(), ready_ ? "ready: follower" : "not ready: x"};
    });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  std::atomic<bool> ready_{true};
  std::string last_path_;
  std::unique_ptr<ReadinessServer> server_;
};

TEST_F(ReadinessServerTest, AnswersOkWithTheTextWhileReady) {
  std::string r = Get(server_->port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("\r\n\r\nready: follower\n"), std::string::npos) << r;
  EXPECT_EQ(last_path_, "/readyz");
}

TEST_F(ReadinessServerTest, Answers503WhenNotReady) {
  ready_ = false;
  std::string r = Get(server_->port(), "GET /readyz?verbose=1 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("not ready: x"), std::string::npos);
}

TEST_F(ReadinessServerTest, ServesHealthzThroughTheSameHandler) {
  Get(server_->port(), "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(last_path_, "/healthz");
}

TEST_F(ReadinessServerTest, AnyOtherPathIsNotFound) {
  std::string r = Get(server_->port(), "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 404", 0), 0u) << r;
  EXPECT_TRUE(last_path_.empty()) << "the handler is not asked";
}

TEST_F(ReadinessServerTest, ABusyPortIsReportedNotFatal) {
  auto second = ReadinessServer::Start(
      "127.0.0.1", server_->port(), [](const std::string&) { return ReadinessServer::Answer{}; });
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("cannot listen on 127.0.0.1:"), std::string::npos);
}

}  // namespace
}  // namespace amsha
