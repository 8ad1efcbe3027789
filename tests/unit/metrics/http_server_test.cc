#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>

namespace amsha {
namespace {

using std::chrono::milliseconds;

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};  // a hung server fails the test instead of hanging it
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  return out;
}

// Sends `bytes` and returns everything the server answers before closing.
std::string Exchange(int port, const std::string& bytes) {
  int fd = Connect(port);
  if (fd < 0) return "<connect failed>";
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out = ReadAll(fd);
  close(fd);
  return out;
}

std::string Get(int port, const std::string& path, const std::string& method = "GET") {
  return Exchange(port, method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServer::Options options = {}) {
    options.address = "127.0.0.1:0";
    auto server = HttpServer::Start(options, [this](const HttpRequest& request) {
      ++requests_;
      HttpResponse response;
      response.body = request.method + " " + request.path + "\n";
      if (request.path == "/missing") response.code = 404;
      return response;
    });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  std::atomic<int> requests_{0};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnswersOnTheEphemeralPortItReports) {
  StartServer();
  EXPECT_NE(server_->port(), 0);
  EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(server_->port()));
  std::string answer = Get(server_->port(), "/metrics?x=1");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Content-Length: 13\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), "GET /metrics\n") << "query dropped";
}

TEST_F(HttpServerTest, HeadGetsTheHeadersWithoutTheBody) {
  StartServer();
  std::string answer = Get(server_->port(), "/readyz", "HEAD");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Content-Length: 13\r\n"), std::string::npos)
      << answer;  // "HEAD /readyz\n"
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), "");
}

TEST_F(HttpServerTest, TheHandlersStatusCodeIsSent) {
  StartServer();
  EXPECT_EQ(Get(server_->port(), "/missing").rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
}

TEST_F(HttpServerTest, OtherMethodsAreRefusedWithoutReachingTheHandler) {
  StartServer();
  std::string answer =
      Exchange(server_->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(requests_, 0);
}

TEST_F(HttpServerTest, AMalformedRequestLineIsABadRequest) {
  StartServer();
  // civetweb's own answer to what it cannot parse.
  EXPECT_EQ(Exchange(server_->port(), "hello\r\n\r\n").rfind("HTTP/1.0 400 Bad Request", 0), 0u);
  std::string spdy = Exchange(server_->port(), "GET /x SPDY/3\r\n\r\n");
  EXPECT_NE(spdy.find(" 400 Bad Request\r\n"), std::string::npos) << spdy;  // "HTTP/SPDY/3 400"
  EXPECT_EQ(requests_, 0);
}

TEST_F(HttpServerTest, AnOversizedRequestHeadIsRefused) {
  HttpServer::Options options;
  options.max_request_bytes = 1024;
  StartServer(options);
  std::string head = "GET / HTTP/1.1\r\nX-Filler: " + std::string(4000, 'a') + "\r\n\r\n";
  std::string answer = Exchange(server_->port(), head);
  EXPECT_EQ(answer.rfind("HTTP/1.0 400 ", 0), 0u) << answer.substr(0, 80);
  EXPECT_EQ(requests_, 0);
}

TEST_F(HttpServerTest, ASilentClientIsCutOffAfterTheRequestTimeout) {
  HttpServer::Options options;
  options.request_timeout = milliseconds(200);
  StartServer(options);
  int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  auto start = std::chrono::steady_clock::now();
  send(fd, "GET / HT", 8, MSG_NOSIGNAL);  // and never the rest
  std::string answer = ReadAll(fd);       // returns when the server closes
  close(fd);
  // civetweb answers a request it gave up on with 400.
  EXPECT_EQ(answer.rfind("HTTP/1.0 400 Bad Request\r\n", 0), 0u) << answer;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(requests_, 0);
}

TEST_F(HttpServerTest, ASilentClientDoesNotHoldUpOthers) {
  StartServer();  // request timeout 5 s
  int silent = Connect(server_->port());
  ASSERT_GE(silent, 0);
  auto start = std::chrono::steady_clock::now();
  std::string answer = Get(server_->port(), "/healthz");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK", 0), 0u) << answer;
  close(silent);
}

TEST_F(HttpServerTest, ManyConnectionsBeyondTheLimitAreServedInTurn) {
  HttpServer::Options options;
  options.worker_threads = 2;
  options.queued_connections = 1;
  StartServer(options);
  std::vector<int> idle;
  for (int i = 0; i < 2; ++i) idle.push_back(Connect(server_->port()));
  // Queued in the backlog until a slot frees up.
  int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  std::string request = "GET /late HTTP/1.1\r\n\r\n";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  for (int s : idle) close(s);  // slots free once the server sees them close
  std::string answer = ReadAll(fd);
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK", 0), 0u) << answer;
}

TEST_F(HttpServerTest, StopClosesTheListeningSocket) {
  StartServer();
  int port = server_->port();
  server_->Stop();
  server_->Stop();  // idempotent
  EXPECT_LT(Connect(port), 0);
}

TEST(HttpServerStartTest, AnAddressWithoutAPortIsInvalid) {
  HttpServer::Options options;
  options.address = "127.0.0.1";
  auto server = HttpServer::Start(options, [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
}

TEST(HttpServerStartTest, APortInUseIsUnavailableAndSaysSo) {
  HttpServer::Options options;
  options.address = "127.0.0.1:0";
  auto first = HttpServer::Start(options, [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(first.ok());
  options.address = (*first)->address();
  auto second = HttpServer::Start(options, [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos)
      << second.status().message();
}

TEST(HttpServerStartTest, AnIpv6AddressIsRefusedWithTheReason) {
  HttpServer::Options options;
  options.address = "[::1]:0";
  auto server = HttpServer::Start(options, [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("no IPv6 support"), std::string::npos)
      << server.status().message();
}

TEST(HttpServerStartTest, AnEmptyHostBindsEveryAddress) {
  HttpServer::Options options;
  options.address = ":0";
  auto server = HttpServer::Start(options, [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ((*server)->address().rfind("0.0.0.0:", 0), 0u) << (*server)->address();
  EXPECT_EQ(Get((*server)->port(), "/").rfind("HTTP/1.1 200", 0), 0u);
}

}  // namespace
}  // namespace amsha
