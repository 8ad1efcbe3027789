#include "gate/readiness_server.h"

namespace amsha {

HttpResponse ReadinessServer::Handle(const HttpRequest& request, const Handler& handler) {
  HttpResponse response;
  if (request.path != "/readyz" && request.path != "/healthz") {
    response.code = 404;
    response.body = "the gate serves /readyz and /healthz\n";
    return response;
  }
  Answer answer = handler(request.path);
  response.code = answer.ok ? 200 : 503;
  response.body = answer.text + "\n";
  return response;
}

StatusOr<std::unique_ptr<ReadinessServer>> ReadinessServer::Start(const std::string& ip, int port,
                                                                  Handler handler) {
  HttpServer::Options options;
  const bool ipv6 = ip.find(':') != std::string::npos;
  options.address = (ipv6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
  options.name = "readiness endpoint";
  auto server = HttpServer::Start(
      options, [handler = std::move(handler)](const HttpRequest& r) { return Handle(r, handler); });
  if (!server.ok()) return server.status();
  return std::unique_ptr<ReadinessServer>(new ReadinessServer(std::move(server).value()));
}

}  // namespace amsha
