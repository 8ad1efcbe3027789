#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace amsha {
namespace {

using Clock = std::chrono::steady_clock;

const char* ReasonPhrase(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// "host:port" -> host (brackets removed) and port.
bool SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  return port->find_first_not_of("0123456789") == std::string::npos;
}

std::string FormatAddress(const sockaddr_storage& addr, int* port) {
  char host[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    *port = ntohs(a->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(*port);
  }
  const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
  *port = ntohs(a->sin_port);
  return std::string(host) + ":" + std::to_string(*port);
}

// The length of the request head up to the blank line that ends it, or 0
// while that has not arrived.
size_t HeadLength(const std::string& in) {
  size_t crlf = in.find("\r\n\r\n");
  if (crlf != std::string::npos) return crlf + 4;
  size_t lf = in.find("\n\n");
  return lf == std::string::npos ? 0 : lf + 2;
}

HttpResponse Plain(int code, const std::string& body) {
  HttpResponse r;
  r.code = code;
  r.body = body + "\n";
  return r;
}

// Parses the request line; answers 400/405 itself, else asks the handler.
std::string Answer(const std::string& head, const HttpHandler& handler) {
  HttpRequest request;
  std::string line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0) {
    return RenderHttpResponse({"GET", ""}, Plain(400, "malformed request line"));
  }
  request.method = line.substr(0, sp1);
  request.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  request.path = request.path.substr(0, request.path.find('?'));
  if (request.method != "GET" && request.method != "HEAD") {
    return RenderHttpResponse({"GET", request.path}, Plain(405, "only GET and HEAD"));
  }
  try {
    return RenderHttpResponse(request, handler(request));
  } catch (const std::exception& e) {
    return RenderHttpResponse(request, Plain(500, std::string("internal error: ") + e.what()));
  }
}

struct Connection {
  int fd = -1;
  std::string in;
  std::string out;
  size_t sent = 0;
  bool writing = false;
  Clock::time_point deadline;
};

}  // namespace

std::string RenderHttpResponse(const HttpRequest& request, const HttpResponse& response) {
  std::string out = "HTTP/1.1 " + std::to_string(response.code) + " " +
                    ReasonPhrase(response.code) + "\r\nContent-Type: " + response.content_type +
                    "\r\nContent-Length: " + std::to_string(response.body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n";
  if (response.code == 405) out += "Allow: GET, HEAD\r\n";
  out += "\r\n";
  if (request.method != "HEAD") out += response.body;
  return out;
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options, HttpHandler handler) {
  std::string host, port;
  if (!SplitHostPort(options.address, &host, &port)) {
    return InvalidArgumentError("metrics address \"" + options.address + "\" is not host:port");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return InvalidArgumentError("metrics address \"" + options.address + "\": " + gai_strerror(rc));
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  Status error;
  if (fd < 0) {
    error = UnavailableError(Errno("socket"));
  } else {
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    // [::] serves IPv4 clients too.
    if (found->ai_family == AF_INET6) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
      error = UnavailableError(Errno("cannot listen on " + options.address));
    } else if (listen(fd, 64) != 0) {
      error = UnavailableError(Errno("listen on " + options.address));
    }
  }
  freeaddrinfo(found);
  int wake[2] = {-1, -1};
  if (error.ok() && pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) error = UnavailableError("pipe");
  if (!error.ok()) {
    if (fd >= 0) close(fd);
    return error;
  }
  std::unique_ptr<HttpServer> server(
      new HttpServer(std::move(options), std::move(handler), fd, wake[0], wake[1]));
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  server->address_ = FormatAddress(bound, &server->port_);
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

HttpServer::HttpServer(Options options, HttpHandler handler, int listen_fd, int wake_read,
                       int wake_write)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      listen_fd_(listen_fd),
      wake_read_(wake_read),
      wake_write_(wake_write) {}

HttpServer::~HttpServer() {
  Stop();
  close(wake_read_);
  close(wake_write_);
}

void HttpServer::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (thread_.joinable()) {
    char byte = 1;
    while (write(wake_write_, &byte, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

void HttpServer::Run() {
  std::vector<Connection> conns;
  auto finish = [](Connection& c) {
    close(c.fd);
    c.fd = -1;
  };
  auto respond = [&](Connection& c, std::string answer) {
    c.out = std::move(answer);
    c.writing = true;
    c.deadline = Clock::now() + options_.write_timeout;
  };
  while (true) {
    std::vector<pollfd> fds;
    fds.push_back({wake_read_, POLLIN, 0});
    const bool accepting = static_cast<int>(conns.size()) < options_.max_connections;
    fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
    Clock::time_point now = Clock::now();
    int timeout_ms = 1000;
    for (const Connection& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.writing ? POLLOUT : POLLIN), 0});
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
      timeout_ms = std::max<int>(0, std::min<int>(timeout_ms, left + 1));
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;  // Stop()

    now = Clock::now();
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      short revents = fds[i + 2].revents;
      if (!c.writing && (revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[4096];
        ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          finish(c);  // the client went away before asking
          continue;
        }
        if (n > 0) c.in.append(buf, n);
        size_t head = HeadLength(c.in);
        if (head > options_.max_request_bytes ||
            (head == 0 && c.in.size() > options_.max_request_bytes)) {
          respond(c, RenderHttpResponse({"GET", ""}, Plain(431, "request head too large")));
        } else if (head > 0) {
          respond(c, Answer(c.in, handler_));
        }
      }
      if (c.writing && (revents & (POLLOUT | POLLHUP | POLLERR) || c.sent == 0)) {
        ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n > 0) c.sent += n;
        if (c.sent == c.out.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          shutdown(c.fd, SHUT_WR);
          finish(c);
          continue;
        }
      }
      if (now >= c.deadline) {
        if (!c.writing) {
          // One non-blocking attempt to say why; then give up on the client.
          std::string answer = RenderHttpResponse({"GET", ""}, Plain(408, "request too slow"));
          send(c.fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
        finish(c);
      }
    }
    conns.erase(
        std::remove_if(conns.begin(), conns.end(), [](const Connection& c) { return c.fd < 0; }),
        conns.end());

    if (accepting && (fds[1].revents & POLLIN)) {
      while (static_cast<int>(conns.size()) < options_.max_connections) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;  // EAGAIN, or a connection reset while queued
        Connection c;
        c.fd = fd;
        c.deadline = now + options_.request_timeout;
        conns.push_back(std::move(c));
      }
    }
  }
  for (Connection& c : conns) finish(c);
}

}  // namespace amsha
