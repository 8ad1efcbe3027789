// The stand-in's tiny kube-proxy: a connection to a Service's forwarded
// port reaches the pod its selector matches at connection time. Each "pod"
// is a TCP listener on its own loopback address (127.0.0.2, 127.0.0.3) that
// answers with its name.
#define _TURN_OFF_PLATFORM_STRING
#include <arpa/inet.h>
#include <cpprest/json.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support/standin_process.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

// Accepts connections on ip:port and writes `name` to each.
class NamedListener {
 public:
  NamedListener(const std::string& ip, int port, std::string name) : name_(std::move(name)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          ::listen(fd_, 16) == 0;
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        ::send(c, name_.data(), name_.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~NamedListener() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }

 private:
  std::string name_;
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Connects to 127.0.0.1:port and returns what the far end sent before
// closing ("" when the connection was closed at once).
std::string WhoAnswers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    char buf[256];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 3000) > 0) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

class StandinForwardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StandinOptions options;
    options.tls = false;
    options.token = "t0";
    standin_ = std::make_unique<StandinProcess>(options);
    ASSERT_TRUE(standin_->Start().ok());
    pod_port_ = FreeLoopbackPort();
    for (const char* name : {"ams-0", "ams-1"}) {
      StandinPod pod;
      pod.name = name;
      pod.labels = {{"app", "ams"}, {"statefulset.kubernetes.io/pod-name", name}};
      pod.ports = {{"rest", pod_port_}};
      ASSERT_TRUE(standin_->CreatePod(pod).ok());  // IPs 127.0.0.2 and 127.0.0.3
    }
  }

  AdminResponse Api(const std::string& method, const std::string& path, const std::string& body,
                    const std::string& type = "application/json") {
    return PlainHttp(standin_->api_port(), method, path, body,
                     {"Authorization: Bearer t0", "Content-Type: " + type});
  }

  // Replaces the whole selector (a merge patch would keep the other keys).
  AdminResponse PointServiceAt(const std::string& pod) {
    return Api("PATCH", "/api/v1/namespaces/default/services/ams-leader",
               R"([{"op":"replace","path":"/spec/selector","value":{)"
               R"("statefulset.kubernetes.io/pod-name":")" +
                   pod + R"("}}])",
               "application/json-patch+json");
  }

  int LocalPort() {
    auto forwards = web::json::value::parse(standin_->Forwards());
    EXPECT_EQ(forwards.size(), 1u) << forwards.serialize();
    if (forwards.size() != 1) return 0;
    EXPECT_EQ(forwards.at(0).at("service").as_string(), "ams-leader");
    EXPECT_EQ(forwards.at(0).at("port").as_integer(), 1630);
    EXPECT_EQ(forwards.at(0).at("targetPort").as_string(), "rest");
    return forwards.at(0).at("localPort").as_integer();
  }

  std::unique_ptr<StandinProcess> standin_;
  int pod_port_ = 0;
};

TEST_F(StandinForwardTest, ConnectionsFollowTheServiceSelector) {
  NamedListener ams0("127.0.0.2", pod_port_, "ams-0");
  NamedListener ams1("127.0.0.3", pod_port_, "ams-1");
  ASSERT_TRUE(ams0.ok() && ams1.ok());
  ASSERT_EQ(Api("POST", "/api/v1/namespaces/default/services",
                R"({"metadata":{"name":"ams-leader"},"spec":{"selector":{"app":"ams",
                    "role":"leader"},"ports":[{"name":"rest","port":1630,"targetPort":"rest"}]}})")
                .code,
            201);
  int port = LocalPort();
  ASSERT_GT(port, 0);
  EXPECT_EQ(WhoAnswers(port), "");  // nothing matches yet: closed at once

  ASSERT_EQ(PointServiceAt("ams-0").code, 200);
  EXPECT_EQ(WhoAnswers(port), "ams-0");
  EXPECT_EQ(WhoAnswers(port), "ams-0");

  ASSERT_EQ(PointServiceAt("ams-1").code, 200);
  EXPECT_EQ(WhoAnswers(port), "ams-1");

  // kube-proxy routes only to Ready endpoints.
  ASSERT_TRUE(standin_->SetReady("ams-1", false).ok());
  EXPECT_EQ(WhoAnswers(port), "");
  ASSERT_TRUE(standin_->SetReady("ams-1", true).ok());
  EXPECT_EQ(WhoAnswers(port), "ams-1");
}

TEST_F(StandinForwardTest, NumericTargetPortAndServiceDeletion) {
  NamedListener ams0("127.0.0.2", pod_port_, "ams-0");
  ASSERT_TRUE(ams0.ok());
  std::string body = R"({"metadata":{"name":"ams-leader"},"spec":{"selector":{
      "statefulset.kubernetes.io/pod-name":"ams-0"},"ports":[{"port":1630,"targetPort":)" +
                     std::to_string(pod_port_) + "}]}}";
  ASSERT_EQ(Api("POST", "/api/v1/namespaces/default/services", body).code, 201);
  auto forwards = web::json::value::parse(standin_->Forwards());
  ASSERT_EQ(forwards.size(), 1u);
  int port = forwards.at(0).at("localPort").as_integer();
  EXPECT_EQ(WhoAnswers(port), "ams-0");
  ASSERT_EQ(Api("DELETE", "/api/v1/namespaces/default/services/ams-leader", "").code, 200);
  EXPECT_EQ(standin_->Forwards(), "[]");
}

}  // namespace
}  // namespace amsha::testing
