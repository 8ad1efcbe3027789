// ObservabilityServer: the controller's HTTP endpoint on `metrics.address`.
//
//   GET /metrics  the Prometheus text exposition of PrometheusMetrics
//   GET /healthz  200 "ok: ..." or 503 "stalled: ..." (HealthChecks::Live)
//   GET /readyz   200 "ready: ..." or 503 "not ready: ..." (HealthChecks::Ready)
// Every replica serves it, the standby too. run_command starts it right
// after the config is loaded, so probes answer during start-up.
// Thread safety: Handle() from any thread; the server calls it on its own.
#ifndef AMS_HA_METRICS_OBSERVABILITY_SERVER_H_
#define AMS_HA_METRICS_OBSERVABILITY_SERVER_H_

#include <memory>
#include <string>

#include "common/status.h"
#include "metrics/health_checks.h"
#include "metrics/http_server.h"
#include "metrics/prometheus_metrics.h"

namespace amsha {

inline constexpr char kPrometheusTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class ObservabilityServer {
 public:
  // `metrics` and `health` must outlive the server. Errors as HttpServer::Start.
  static StatusOr<std::unique_ptr<ObservabilityServer>> Start(const std::string& address,
                                                              PrometheusMetrics* metrics,
                                                              const HealthChecks* health);
  // Routes one request (public for tests).
  static HttpResponse Handle(const HttpRequest& request, PrometheusMetrics* metrics,
                             const HealthChecks* health);

  const std::string& address() const { return server_->address(); }
  int port() const { return server_->port(); }
  void Stop() { server_->Stop(); }

 private:
  explicit ObservabilityServer(std::unique_ptr<HttpServer> server) : server_(std::move(server)) {}
  std::unique_ptr<HttpServer> server_;
};

}  // namespace amsha

#endif  // AMS_HA_METRICS_OBSERVABILITY_SERVER_H_
