// HttpServer: a small HTTP/1.1 server on POSIX sockets for /metrics,
// /healthz and /readyz (prometheus-cpp's Exposer cannot serve custom paths,
// and cpprest belongs to the Kubernetes client alone).
//
// One thread runs a poll() loop over the listening socket and the open
// connections, all non-blocking, so a slow or silent client never holds up
// a probe or a scrape. Each connection carries one request (GET or HEAD;
// the answer says `Connection: close`). Limits: the request head must
// arrive within `request_timeout` and fit in `max_request_bytes` (else 408
// or 431), the answer must be taken within `write_timeout`, and at most
// `max_connections` are open at once (further ones wait in the backlog).
// The handler runs on the server thread: keep it quick.
// Thread safety: Start/Stop/address from any thread.
#ifndef AMS_HA_METRICS_HTTP_SERVER_H_
#define AMS_HA_METRICS_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

namespace amsha {

struct HttpRequest {
  std::string method;  // GET, HEAD
  std::string path;    // without the query string
};

struct HttpResponse {
  int code = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  struct Options {
    // host:port; an empty host or 0.0.0.0 binds every IPv4 address, [::]
    // every address; port 0 picks a free port (see address()).
    std::string address = "0.0.0.0:9464";
    std::chrono::milliseconds request_timeout{5000};
    std::chrono::milliseconds write_timeout{10000};
    size_t max_request_bytes = 8192;
    int max_connections = 32;
  };

  // Binds and starts serving. kInvalidArgument for an address that does not
  // parse or resolve; kUnavailable when it cannot be bound (in use, no
  // permission), with the system's reason.
  static StatusOr<std::unique_ptr<HttpServer>> Start(Options options, HttpHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Closes the listening socket and every connection; joins the thread.
  void Stop();
  // The bound address, "127.0.0.1:34567" (the real port when 0 was asked).
  const std::string& address() const { return address_; }
  int port() const { return port_; }

 private:
  HttpServer(Options options, HttpHandler handler, int listen_fd, int wake_read, int wake_write);
  void Run();

  const Options options_;
  const HttpHandler handler_;
  std::mutex stop_mu_;
  int listen_fd_;        // -1 once stopped
  const int wake_read_;  // a pipe: Stop() writes a byte to end poll()
  const int wake_write_;
  std::string address_;
  int port_ = 0;
  std::thread thread_;
};

// "HTTP/1.1 200 OK\r\n...": the whole answer to `request` (no body for HEAD).
std::string RenderHttpResponse(const HttpRequest& request, const HttpResponse& response);

}  // namespace amsha

#endif  // AMS_HA_METRICS_HTTP_SERVER_H_
