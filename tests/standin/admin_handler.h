// AdminHandler: the stand-in's plain-HTTP admin API (no auth), which tests
// use to play kubelet and chaos monkey: create pods, flip readiness, delete
// pods gracefully, inject faults, latency, pauses, cut watches, compact the
// event window, rotate tokens, deny requests, and read the records
// (selectors, requests, events), the forwards and the whole state.
// The routes are listed in README.md.
// Callers: the admin HttpServer. Thread-safe.
#ifndef AMS_HA_TESTS_STANDIN_ADMIN_HANDLER_H_
#define AMS_HA_TESTS_STANDIN_ADMIN_HANDLER_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "standin/controls.h"
#include "standin/forwarder.h"
#include "standin/http_server.h"
#include "standin/request_log.h"
#include "standin/store.h"

namespace amsha::standin {

struct AdminOptions {
  std::string default_namespace = "default";
  std::string pod_ip_base = "127.0.0.2";
  // Called after a token rotation, to rewrite the token file and kubeconfig.
  std::function<void(const std::string& token)> on_token_rotated;
};

class AdminHandler {
 public:
  AdminHandler(Store* store, Controls* controls, RequestLog* log, Forwarder* forwarder,
               AdminOptions options);

  HttpResponse Handle(const HttpRequest& req);

 private:
  HttpResponse CreatePod(const Json& body);
  HttpResponse SetReady(const std::string& ns, const std::string& name, const Json& body);
  HttpResponse AddFault(const Json& body);
  HttpResponse AddForbid(const Json& body);
  HttpResponse SetRole(const Json& body);
  HttpResponse RotateToken(const Json& body);
  // Entries of `service` ("" = all) recorded at or after `since_mono_ns`.
  Json SelectorRecord(const std::string& service, int64_t since_mono_ns);
  Json Forwards();
  Json State();
  std::string NextPodIp();

  Store* store_;
  Controls* controls_;
  RequestLog* log_;
  Forwarder* forwarder_;
  AdminOptions options_;
  std::mutex mu_;
  uint32_t next_ip_;
};

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_ADMIN_HANDLER_H_
