#include "gate/readiness_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace amsha {
namespace {

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string Response(int code, const char* reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size() + 1) + "\r\nConnection: close\r\n\r\n" + body + "\n";
}

}  // namespace

StatusOr<std::unique_ptr<ReadinessServer>> ReadinessServer::Start(const std::string& ip, int port,
                                                                  Handler handler) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* addrs = nullptr;
  const std::string where = ip + ":" + std::to_string(port);
  if (::getaddrinfo(ip.empty() ? nullptr : ip.c_str(), std::to_string(port).c_str(), &hints,
                    &addrs) != 0) {
    return InvalidArgumentError("readiness endpoint: " + where + " is not an IP address and port");
  }
  int fd = ::socket(addrs->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool ok = fd >= 0 && ::bind(fd, addrs->ai_addr, addrs->ai_addrlen) == 0 && ::listen(fd, 16) == 0;
  ::freeaddrinfo(addrs);
  if (!ok) {
    std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return UnavailableError("readiness endpoint: cannot listen on " + where + ": " + why);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::unique_ptr<ReadinessServer>(new ReadinessServer(fd, bound_port, std::move(handler)));
}

ReadinessServer::ReadinessServer(int listen_fd, int port, Handler handler)
    : listen_fd_(listen_fd), port_(port), handler_(std::move(handler)) {
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) wake_pipe_[0] = wake_pipe_[1] = -1;
  thread_ = std::thread([this] { Serve(); });
}

ReadinessServer::~ReadinessServer() {
  if (wake_pipe_[1] >= 0) {
    char c = 1;
    ssize_t ignored = ::write(wake_pipe_[1], &c, 1);
    (void)ignored;
  }
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

void ReadinessServer::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(fds, wake_pipe_[0] >= 0 ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (wake_pipe_[0] >= 0 && fds[1].revents)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    Respond(c);
    ::close(c);
  }
}

void ReadinessServer::Respond(int fd) {
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  // The request line is all we need: "GET /readyz HTTP/1.1".
  std::string request;
  char buf[512];
  while (request.find("\r\n") == std::string::npos && request.size() < 4096) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  size_t sp1 = request.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : request.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) {
    WriteAll(fd, Response(400, "Bad Request", "expected GET /readyz or GET /healthz"));
    return;
  }
  std::string path = request.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t query = path.find('?');
  if (query != std::string::npos) path.resize(query);
  if (path != "/readyz" && path != "/healthz") {
    WriteAll(fd, Response(404, "Not Found", "the gate serves /readyz and /healthz"));
    return;
  }
  ReadinessServer::Answer answer = handler_(path);
  WriteAll(fd, answer.ok ? Response(200, "OK", answer.text)
                         : Response(503, "Service Unavailable", answer.text));
}

}  // namespace amsha
