// ApiHandler: the Kubernetes API surface of the stand-in (the core/v1
// subset in README.md). Every request passes, in order: added latency,
// bearer-token authentication (401), injected faults, RBAC denials (403),
// then routing to discovery, list, get, watch, create, update, patch or
// delete. Every answer is recorded in the RequestLog.
// (The pause is applied before this handler, by the HTTP server.)
// Callers: the API HttpServer, from its connection threads. Thread-safe.
#ifndef AMS_HA_TESTS_STANDIN_API_HANDLER_H_
#define AMS_HA_TESTS_STANDIN_API_HANDLER_H_

#include <chrono>
#include <string>
#include <vector>

#include "standin/api_error.h"
#include "standin/controls.h"
#include "standin/http_server.h"
#include "standin/request_log.h"
#include "standin/store.h"

namespace amsha::standin {

class ApiHandler {
 public:
  ApiHandler(Store* store, Controls* controls, RequestLog* log, std::chrono::seconds watch_timeout);

  // host:port for the /api discovery document.
  void SetServerAddress(const std::string& address) { server_address_ = address; }
  HttpResponse Handle(const HttpRequest& req);

 private:
  struct Route {
    std::string resource;  // pods, services, events, namespaces; "" = not a resource
    std::string ns;        // "" = all namespaces
    std::string name;      // "" = the collection
    bool watch_path = false;
  };

  // *verb and *resource: the RBAC verb and resource of an API request ("" for
  // discovery and errors before routing), for the request log.
  HttpResponse Dispatch(const HttpRequest& req, const std::vector<std::string>& parts,
                        std::string* verb, std::string* resource);
  HttpResponse Serve(const HttpRequest& req, const Route& route, const std::string& verb);
  HttpResponse List(const HttpRequest& req, const Route& route);
  HttpResponse Watch(const HttpRequest& req, const Route& route);
  HttpResponse Delete(const HttpRequest& req, const Route& route);
  HttpResponse Namespaces(const Route& route);

  Store* store_;
  Controls* controls_;
  RequestLog* log_;
  std::chrono::seconds watch_timeout_;
  std::string server_address_;
};

HttpResponse JsonResponse(int code, const Json& body);
HttpResponse ErrorResponse(const ApiError& error);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_API_HANDLER_H_
