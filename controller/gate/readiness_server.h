// ReadinessServer: the gate's own /readyz and /healthz on the pod IP, for
// the kubelet's httpGet probes.
//
// A follower pod runs no AMS, so its readiness cannot come from AMS: the
// gate answers for the pod instead (docs/gate.md, "Readiness"). The answer
// itself comes from a callback (GateLoop::Health()); this class only maps
// paths: 200 with the text when the callback says yes, 503 when it says no,
// 404 for any other path. HTTP is HttpServer's (civetweb, with its request
// deadline, size limit and one worker per connection), so a client that
// sends one byte a second never delays the kubelet's probe.
// Thread safety: the callback runs on a server thread, one call at a time.
#ifndef AMS_HA_GATE_READINESS_SERVER_H_
#define AMS_HA_GATE_READINESS_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "metrics/http_server.h"

namespace amsha {

class ReadinessServer {
 public:
  struct Answer {
    bool ok = false;
    std::string text;
  };
  // Called with "/readyz" or "/healthz".
  using Handler = std::function<Answer(const std::string& path)>;

  // Listens on ip:port (port 0: any free one) and serves on its threads.
  // kUnavailable when the address cannot be bound; kInvalidArgument when it
  // is not an IPv4 address.
  static StatusOr<std::unique_ptr<ReadinessServer>> Start(const std::string& ip, int port,
                                                          Handler handler);

  int port() const { return server_->port(); }

  // Routes one request (public for tests).
  static HttpResponse Handle(const HttpRequest& request, const Handler& handler);

 private:
  explicit ReadinessServer(std::unique_ptr<HttpServer> server) : server_(std::move(server)) {}
  std::unique_ptr<HttpServer> server_;
};

}  // namespace amsha

#endif  // AMS_HA_GATE_READINESS_SERVER_H_
