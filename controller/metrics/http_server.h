// HttpServer: the one HTTP serving component of the controller and the gate
// (/metrics, /healthz, /readyz; the gate's /readyz, /healthz), an adapter
// over civetweb: the only file that includes civetweb.h.
//
// Why civetweb (issue 13, measured with tests/integration/
// http_slow_clients_test): it bounds everything a hostile client can hold.
// A request head must arrive whole within `request_timeout` (a total
// deadline, not per read, so one byte a second does not extend it) and fit
// in `max_request_bytes`; each connection is served by one of
// `worker_threads` threads started up front, so a slow client holds one
// worker and never delays the others; connections beyond the workers wait
// in a queue of `queued_connections`, then in the kernel's backlog.
// Memory is bounded by the worker count (about 15 KiB resident each).
// cpprestsdk's http_listener answers as fast but has no request deadline
// and no connection limit: an idle connection is held forever.
//
// Each request gets one answer and `Connection: close`; GET and HEAD only
// (405 otherwise). The handler runs on a worker thread, one call at a time
// (a mutex keeps the single-threaded contract the callers were written
// for): keep it quick. The request is read before and the answer written
// after the handler runs, so a slow client never holds that lock.
// Limits: Debian 12's civetweb is built without IPv6, so only IPv4
// addresses can be served (Start says so for an IPv6 address).
// Thread safety: Start/Stop/address from any thread.
#ifndef AMS_HA_METRICS_HTTP_SERVER_H_
#define AMS_HA_METRICS_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

struct mg_context;  // civetweb

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
    // host:port; an empty host or 0.0.0.0 binds every IPv4 address; port 0
    // picks a free port (see address()).
    std::string address = "0.0.0.0:9464";
    // What the address is for, in error messages ("metrics address").
    std::string name = "HTTP server";
    // Deadline for the whole request head, and for each write of the answer.
    std::chrono::milliseconds request_timeout{5000};
    size_t max_request_bytes = 8192;
    // One thread per open connection. 640: the 520 hostile connections of
    // the slow-client test plus room for the kubelet and Prometheus.
    int worker_threads = 640;
    // Accepted connections waiting for a free worker.
    int queued_connections = 64;
    int listen_backlog = 256;
  };

  // Binds and starts serving. kInvalidArgument for an address that does not
  // parse or resolve (or is IPv6); kUnavailable when it cannot be bound (in
  // use, no permission), with the library's reason.
  static StatusOr<std::unique_ptr<HttpServer>> Start(Options options, HttpHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Closes the listening socket and every connection; joins the threads.
  void Stop();
  // The bound address, "127.0.0.1:34567" (the real port when 0 was asked).
  const std::string& address() const { return address_; }
  int port() const { return port_; }

  // The whole answer to one request ("HTTP/1.1 200 OK\r\n..."); called on a
  // worker thread by the adapter (public for it).
  std::string Answer(const HttpRequest& request);

 private:
  HttpServer(Options options, HttpHandler handler);

  const Options options_;
  const HttpHandler handler_;
  std::mutex handler_mu_;
  std::mutex stop_mu_;
  mg_context* context_ = nullptr;  // null once stopped
  std::string address_;
  int port_ = 0;
};

// "HTTP/1.1 200 OK\r\n...": the whole answer to `request` (no body for HEAD).
std::string RenderHttpResponse(const HttpRequest& request, const HttpResponse& response);

}  // namespace amsha

#endif  // AMS_HA_METRICS_HTTP_SERVER_H_
