#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "common/logging.h"

namespace amsha {
namespace {

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
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

HttpResponse Plain(int code, const std::string& body) {
  HttpResponse r;
  r.code = code;
  r.body = body + "\n";
  return r;
}

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

constexpr unsigned kCivetwebIpv6 = 8;  // MG_FEATURES_IPV6

// Resolves `host` to the numeric form civetweb's listening_ports takes.
StatusOr<std::string> NumericHost(const HttpServer::Options& options, const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    return InvalidArgumentError(options.name + " \"" + options.address + "\": " + gai_strerror(rc));
  }
  char text[INET6_ADDRSTRLEN] = "";
  // Prefer an IPv4 address when the name has both.
  const addrinfo* pick = found;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  }
  std::string out;
  if (pick->ai_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(pick->ai_addr)->sin_addr, text,
              sizeof(text));
    out = text;
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(pick->ai_addr)->sin6_addr, text,
              sizeof(text));
    out = "[" + std::string(text) + "]";
  }
  freeaddrinfo(found);
  if (out.front() == '[' && mg_check_feature(kCivetwebIpv6) == 0) {
    return InvalidArgumentError(options.name + " \"" + options.address +
                                "\": IPv6 addresses cannot be served: this build's civetweb "
                                "(Debian 12) has no IPv6 support; use an IPv4 address");
  }
  return out;
}

// civetweb calls this for every request it parsed; a non-zero return means
// "answered" (the value is the status code, for civetweb's own log).
int BeginRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  auto* server = static_cast<HttpServer*>(info->user_data);
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  const char* path = info->local_uri_raw ? info->local_uri_raw : info->request_uri;
  request.path = path ? path : "";
  request.path = request.path.substr(0, request.path.find('?'));
  std::string answer = server->Answer(request);
  mg_write(conn, answer.data(), answer.size());
  return std::atoi(answer.c_str() + std::strlen("HTTP/1.1 "));
}

// civetweb's own complaints (a bad request, a timeout): debug lines, not
// stderr noise.
int LogMessage(const mg_connection*, const char* message) {
  Log(LogLevel::kDebug, "http server", {{"detail", message ? message : ""}});
  return 1;
}

// civetweb says only "Failed to setup server ports" when it cannot bind;
// binding the same address once more tells why (in use, no permission).
std::string WhyNotBound(const std::string& numeric_host, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  std::string host = numeric_host;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return "";
  std::string why;
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd >= 0 && bind(fd, found->ai_addr, found->ai_addrlen) != 0) why = std::strerror(errno);
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  return why;
}

// Opens and closes connections to 127.0.0.1:port (or the bound address)
// until `done`: civetweb's accept thread polls its socket for up to 2 s
// before it looks at the stop flag, and a connection wakes it at once.
void Knock(const std::string& numeric_host, int port, const std::atomic<bool>* done) {
  std::string host = numeric_host == "0.0.0.0" ? "127.0.0.1" : numeric_host;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return;
  while (!done->load()) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void InitLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

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

std::string HttpServer::Answer(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return RenderHttpResponse({"GET", request.path}, Plain(405, "only GET and HEAD"));
  }
  try {
    std::lock_guard<std::mutex> lock(handler_mu_);
    return RenderHttpResponse(request, handler_(request));
  } catch (const std::exception& e) {
    return RenderHttpResponse(request, Plain(500, std::string("internal error: ") + e.what()));
  }
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options, HttpHandler handler) {
  std::string host, port;
  if (!SplitHostPort(options.address, &host, &port)) {
    return InvalidArgumentError(options.name + " \"" + options.address + "\" is not host:port");
  }
  auto numeric = NumericHost(options, host);
  if (!numeric.ok()) return numeric.status();
  InitLibraryOnce();
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(options), std::move(handler)));
  const Options& o = server->options_;
  const std::string ports = *numeric + ":" + port;
  const std::string threads = std::to_string(o.worker_threads);
  const std::string queue = std::to_string(o.queued_connections);
  const std::string backlog = std::to_string(o.listen_backlog);
  const std::string timeout = std::to_string(o.request_timeout.count());
  const std::string max_request = std::to_string(o.max_request_bytes);
  // No document_root: civetweb serves no files, only what BeginRequest says.
  const char* config[] = {"listening_ports",
                          ports.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "connection_queue",
                          queue.c_str(),
                          "listen_backlog",
                          backlog.c_str(),
                          "request_timeout_ms",
                          timeout.c_str(),
                          "max_request_size",
                          max_request.c_str(),
                          "enable_keep_alive",
                          "no",
                          "tcp_nodelay",
                          "1",
                          nullptr};
  mg_callbacks callbacks{};
  callbacks.begin_request = BeginRequest;
  callbacks.log_message = LogMessage;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = config;
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    std::string why = WhyNotBound(*numeric, port);
    if (why.empty()) why = error_text[0] ? error_text : "civetweb did not start";
    return UnavailableError(o.name + ": cannot listen on " + o.address + ": " + why);
  }
  mg_server_port bound[2] = {};
  int n = mg_get_server_ports(server->context_, 2, bound);
  server->port_ = n > 0 ? bound[0].port : 0;
  server->address_ = *numeric + ":" + std::to_string(server->port_);
  return server;
}

HttpServer::HttpServer(Options options, HttpHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (context_ == nullptr) return;
  std::atomic<bool> stopped{false};
  std::string host = address_.substr(0, address_.rfind(':'));
  std::thread knock(Knock, host, port_, &stopped);
  mg_stop(context_);
  stopped = true;
  knock.join();
  context_ = nullptr;
}

}  // namespace amsha
