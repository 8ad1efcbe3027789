#include "support/tcp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace amsha::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool WriteAll(int fd, const char* data, ssize_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= n;
  }
  return true;
}

}  // namespace

TcpRelay::TcpRelay(int target_port) : target_port_(target_port) {}

TcpRelay::~TcpRelay() {
  stop_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& link : links_) Close(*link);
  }
  for (auto& t : threads_) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status TcpRelay::Start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    return InternalError(std::string("relay: cannot listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { Accept(); });
  return Status::Ok();
}

void TcpRelay::Close(Link& link) {
  // shutdown() wakes the pump's poll(); the pump closes the descriptors.
  if (link.client >= 0) ::shutdown(link.client, SHUT_RDWR);
  if (link.server >= 0) ::shutdown(link.server, SHUT_RDWR);
}

void TcpRelay::Cut() {
  std::lock_guard<std::mutex> lock(mu_);
  cut_ = true;
  for (auto& link : links_) link->poisoned = true;
}

void TcpRelay::Restore() {
  std::lock_guard<std::mutex> lock(mu_);
  cut_ = false;
  for (auto& link : links_) {
    if (link->poisoned) Close(*link);
  }
}

void TcpRelay::Accept() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    auto link = std::make_shared<Link>();
    link->client = client;
    std::lock_guard<std::mutex> lock(mu_);
    if (cut_) {
      link->poisoned = true;  // accepted, never forwarded
    } else {
      int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr = Loopback(target_port_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      link->server = server;
    }
    links_.push_back(link);
    threads_.emplace_back([this, link] { Pump(link); });
  }
}

void TcpRelay::Pump(std::shared_ptr<Link> link) {
  char buf[16384];
  while (!stop_) {
    pollfd fds[2] = {{link->client, POLLIN, 0}, {link->server, POLLIN, 0}};
    int n = ::poll(fds, link->server >= 0 ? 2 : 1, 100);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    bool closed = false;
    for (int i = 0; i < 2 && !closed; ++i) {
      if (i == 1 && link->server < 0) break;
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::recv(fds[i].fd, buf, sizeof(buf), 0);
      if (got <= 0) {
        closed = true;
        break;
      }
      // A cut drops what it carries, in both directions.
      if (cut_ || link->poisoned) continue;
      if (!WriteAll(fds[1 - i].fd, buf, got)) closed = true;
    }
    if (closed) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ::close(link->client);
  if (link->server >= 0) ::close(link->server);
  link->client = link->server = -1;
  link->done = true;
}

}  // namespace amsha::testing
