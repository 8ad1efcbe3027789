#include "metrics/observability_server.h"

namespace amsha {

HttpResponse ObservabilityServer::Handle(const HttpRequest& request, PrometheusMetrics* metrics,
                                         const HealthChecks* health) {
  HttpResponse response;
  if (request.path == "/metrics") {
    response.content_type = kPrometheusTextContentType;
    response.body = metrics->Scrape();
  } else if (request.path == "/healthz" || request.path == "/readyz") {
    HealthAnswer answer = request.path == "/healthz" ? health->Live() : health->Ready();
    response.code = answer.ok ? 200 : 503;
    response.body = answer.message + "\n";
  } else if (request.path == "/") {
    response.body = "ams-ha-controller: /metrics /healthz /readyz\n";
  } else {
    response.code = 404;
    response.body = "not found: " + request.path + " (try /metrics, /healthz, /readyz)\n";
  }
  return response;
}

StatusOr<std::unique_ptr<ObservabilityServer>> ObservabilityServer::Start(
    const std::string& address, PrometheusMetrics* metrics, const HealthChecks* health) {
  HttpServer::Options options;
  options.address = address;
  options.name = "metrics address";
  auto server = HttpServer::Start(options, [metrics, health](const HttpRequest& request) {
    return Handle(request, metrics, health);
  });
  if (!server.ok()) return server.status();
  return std::unique_ptr<ObservabilityServer>(new ObservabilityServer(std::move(server).value()));
}

}  // namespace amsha
