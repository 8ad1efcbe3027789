#include "standin/forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace amsha::standin {
namespace {

int ListenLoopback() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

int Connect(const std::string& ip, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Copies bytes both ways until both directions have ended, passing each
// half-close on.
void Pump(int a, int b) {
  bool a_open = true, b_open = true;
  char buf[16384];
  while (a_open || b_open) {
    pollfd p[2] = {{a, static_cast<short>(a_open ? POLLIN : 0), 0},
                   {b, static_cast<short>(b_open ? POLLIN : 0), 0}};
    if (::poll(p, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = ::read(from, buf, sizeof(buf));
      if (n <= 0) {
        (i == 0 ? a_open : b_open) = false;
        ::shutdown(to, SHUT_WR);
        if (n < 0) a_open = b_open = false;
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) {
          a_open = b_open = false;
          break;
        }
        off += w;
      }
    }
  }
  ::close(a);
  ::close(b);
}

}  // namespace

struct Forwarder::Listener {
  int fd = -1;
  int local_port = 0;
  Json target_port;
  std::atomic<bool> closed{false};
  std::thread thread;

  void Close() {
    closed = true;
    ::shutdown(fd, SHUT_RDWR);
    if (thread.joinable()) thread.join();
    ::close(fd);
  }
};

Forwarder::~Forwarder() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, l] : listeners_) l->Close();
}

void Forwarder::Reconcile() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<Key, ServicePortInfo> wanted;
  for (const auto& p : store_->ServicePorts()) wanted[Key{p.ns, p.service, p.port}] = p;
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (wanted.count(it->first)) {
      it->second->target_port = wanted[it->first].target_port;
      ++it;
    } else {
      it->second->Close();
      it = listeners_.erase(it);
    }
  }
  for (const auto& [key, info] : wanted) {
    if (listeners_.count(key)) continue;
    auto l = std::make_shared<Listener>();
    l->fd = ListenLoopback();
    if (l->fd < 0) continue;
    l->local_port = LocalPort(l->fd);
    l->target_port = info.target_port;
    Store* store = store_;
    auto [ns, service, port] = key;
    Listener* raw = l.get();
    l->thread = std::thread([raw, store, ns = ns, service = service, port = port] {
      while (!raw->closed) {
        int client = ::accept4(raw->fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) {
          if (raw->closed) return;
          continue;
        }
        auto backend = store->PickBackend(ns, service, port);
        int upstream = backend ? Connect(backend->ip, backend->port) : -1;
        if (upstream < 0) {
          ::close(client);
          continue;
        }
        std::thread(Pump, client, upstream).detach();
      }
    });
    listeners_[key] = l;
  }
}

std::vector<ForwardInfo> Forwarder::Forwards() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ForwardInfo> out;
  for (const auto& [key, l] : listeners_) {
    out.push_back(
        {std::get<0>(key), std::get<1>(key), std::get<2>(key), l->target_port, l->local_port});
  }
  return out;
}

}  // namespace amsha::standin
