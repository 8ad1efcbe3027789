#include "standin/admin_handler.h"

#include <arpa/inet.h>

#include <vector>

#include "standin/api_handler.h"

namespace amsha::standin {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

HttpResponse Message(int code, const std::string& message) {
  Json body = Json::object();
  body[code < 300 ? "ok" : "error"] = Json::string(message);
  return JsonResponse(code, body);
}

Json Array(const std::vector<Json>& items) {
  Json out = Json::array();
  for (size_t i = 0; i < items.size(); ++i) out[i] = items[i];
  return out;
}

Json Strings(const std::vector<std::string>& items) {
  Json out = Json::array();
  for (size_t i = 0; i < items.size(); ++i) out[i] = Json::string(items[i]);
  return out;
}

int IntField(const Json& obj, const char* name, int fallback) {
  Json v = Field(obj, {name});
  return v.is_integer() ? v.as_integer() : fallback;
}

Json ReadyCondition(const char* type, bool ready, const std::string& since) {
  Json c = Json::object();
  c["type"] = Json::string(type);
  c["status"] = Json::string(ready ? "True" : "False");
  c["lastProbeTime"] = Json::null();
  c["lastTransitionTime"] = Json::string(since);
  return c;
}

}  // namespace

AdminHandler::AdminHandler(Store* store, Controls* controls, RequestLog* log, Forwarder* forwarder,
                           AdminOptions options)
    : store_(store),
      controls_(controls),
      log_(log),
      forwarder_(forwarder),
      options_(std::move(options)) {
  in_addr addr{};
  inet_pton(AF_INET, options_.pod_ip_base.c_str(), &addr);
  next_ip_ = ntohl(addr.s_addr);
}

std::string AdminHandler::NextPodIp() {
  std::lock_guard<std::mutex> lock(mu_);
  in_addr addr{};
  addr.s_addr = htonl(next_ip_++);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr, buf, sizeof(buf));
  return buf;
}

HttpResponse AdminHandler::Handle(const HttpRequest& req) {
  auto p = Split(req.path);
  if (p.empty() || p[0] != "admin") return Message(404, "no such admin route");
  p.erase(p.begin());
  const std::string& m = req.method;
  Json body = Json::object();
  if (!req.body.empty()) {
    auto parsed = ParseJson(req.body);
    if (!parsed) return Message(400, "the body is not valid JSON");
    body = *parsed;
  }
  auto route = [&](const std::string& method, std::initializer_list<const char*> path) {
    if (method != m || p.size() != path.size()) return false;
    size_t i = 0;
    for (const char* part : path) {
      if (std::string(part) != "*" && p[i] != part) return false;
      ++i;
    }
    return true;
  };

  if (route("POST", {"pods"})) return CreatePod(body);
  if (route("POST", {"pods", "*", "*", "ready"})) return SetReady(p[1], p[2], body);
  if (route("DELETE", {"pods", "*", "*"})) {
    std::optional<int64_t> grace;
    if (req.HasQuery("gracePeriodSeconds")) {
      try {
        grace = std::stoll(req.Query("gracePeriodSeconds"));
      } catch (const std::exception&) {
        return Message(400, "invalid gracePeriodSeconds");
      }
    }
    Json out;
    ApiError err = store_->Delete("pods", p[1], p[2], grace, &out);
    return err.ok() ? JsonResponse(200, out) : ErrorResponse(err);
  }
  if (route("POST", {"faults"})) return AddFault(body);
  if (route("DELETE", {"faults"})) {
    controls_->ClearFaults();
    return Message(200, "faults cleared");
  }
  if (route("POST", {"latency"})) {
    controls_->SetLatency(std::chrono::milliseconds(IntField(body, "ms", 0)));
    return Message(200, "latency set");
  }
  if (route("POST", {"watches", "cut"})) {
    store_->CutWatches();
    return Message(200, "watches cut");
  }
  if (route("POST", {"pause"})) {
    Json s = Field(body, {"seconds"});
    controls_->Pause(s.is_number() ? s.as_double() : 0);
    return Message(200, "pause set");
  }
  if (route("POST", {"compact"})) {
    store_->Compact();
    return Message(200, "event window dropped");
  }
  if (route("POST", {"tokens", "rotate"})) return RotateToken(body);
  if (route("POST", {"forbid"})) return AddForbid(body);
  if (route("DELETE", {"forbid"})) {
    controls_->ClearForbids();
    return Message(200, "denials cleared");
  }
  if (route("POST", {"role"})) return SetRole(body);
  if (route("DELETE", {"role"})) {
    controls_->ClearRole();
    return Message(200, "role cleared");
  }
  if (route("POST", {"services"})) {
    std::string ns = StringField(body, {"metadata", "namespace"});
    Json out;
    ApiError err =
        store_->Create("services", ns.empty() ? options_.default_namespace : ns, body, &out);
    return err.ok() ? JsonResponse(201, out) : ErrorResponse(err);
  }
  if (route("GET", {"record", "selectors"})) {
    int64_t since = 0;
    if (req.HasQuery("sinceMonoNs")) {
      try {
        since = std::stoll(req.Query("sinceMonoNs"));
      } catch (const std::exception&) {
        return Message(400, "invalid sinceMonoNs");
      }
    }
    return JsonResponse(200, SelectorRecord(req.Query("service"), since));
  }
  if (route("GET", {"record", "request-counts"})) return JsonResponse(200, log_->CountsJson());
  if (route("GET", {"record", "requests"})) return JsonResponse(200, log_->ToJson());
  if (route("DELETE", {"record", "requests"})) {
    log_->Clear();
    return Message(200, "request record cleared");
  }
  if (route("GET", {"record", "events"})) return JsonResponse(200, Array(store_->CreatedEvents()));
  if (route("GET", {"forwards"})) return JsonResponse(200, Forwards());
  if (route("GET", {"state"})) return JsonResponse(200, State());
  return Message(404, "no such admin route: " + m + " " + req.path);
}

HttpResponse AdminHandler::CreatePod(const Json& body) {
  std::string ns = StringField(body, {"namespace"});
  if (ns.empty()) ns = options_.default_namespace;
  std::string name = StringField(body, {"name"});
  std::string ip = StringField(body, {"podIP"});
  if (ip.empty()) ip = NextPodIp();
  Json ready_field = Field(body, {"ready"});
  bool ready = ready_field.is_boolean() ? ready_field.as_bool() : true;
  std::string now = NowRfc3339();

  // Parts are built apart and assigned last: cpprest objects move their
  // members when one is added, so no reference is held across insertions.
  Json meta = Json::object();
  meta["name"] = Json::string(name);
  meta["namespace"] = Json::string(ns);
  meta["labels"] = Field(body, {"labels"}).is_object() ? body.at("labels") : Json::object();
  if (Field(body, {"annotations"}).is_object()) meta["annotations"] = body.at("annotations");

  Json container = Json::object();
  container["name"] = Json::string("ams");
  container["image"] = Json::string("apache/amoro:standin");
  Json ports = Json::array();
  Json body_ports = Field(body, {"ports"});
  if (body_ports.is_array()) {
    size_t i = 0;
    for (auto port : body_ports.as_array()) {
      if (!port.has_field("protocol")) port["protocol"] = Json::string("TCP");
      ports[i++] = port;
    }
  }
  container["ports"] = ports;
  Json spec = Json::object();
  spec["containers"] = Json::array();
  spec["containers"][0] = container;
  std::string node = StringField(body, {"nodeName"});
  spec["nodeName"] = Json::string(node.empty() ? "standin-node" : node);
  spec["terminationGracePeriodSeconds"] =
      Json::number(IntField(body, "terminationGracePeriodSeconds", 30));

  Json status = Json::object();
  status["phase"] = Json::string("Running");
  status["hostIP"] = Json::string("127.0.0.1");
  status["podIP"] = Json::string(ip);
  Json pod_ip = Json::object();
  pod_ip["ip"] = Json::string(ip);
  status["podIPs"] = Json::array();
  status["podIPs"][0] = pod_ip;
  status["startTime"] = Json::string(now);
  status["conditions"] = Json::array();
  status["conditions"][0] = ReadyCondition("Ready", ready, now);
  status["conditions"][1] = ReadyCondition("ContainersReady", ready, now);
  Json cs = Json::object();
  cs["name"] = Json::string("ams");
  cs["ready"] = Json::boolean(ready);
  cs["started"] = Json::boolean(true);
  cs["restartCount"] = Json::number(0);
  cs["image"] = container["image"];
  cs["imageID"] = Json::string("");
  cs["state"] = Json::object();
  cs["state"]["running"] = Json::object();
  cs["state"]["running"]["startedAt"] = Json::string(now);
  status["containerStatuses"] = Json::array();
  status["containerStatuses"][0] = cs;

  Json pod = Json::object();
  pod["apiVersion"] = Json::string("v1");
  pod["kind"] = Json::string("Pod");
  pod["metadata"] = meta;
  pod["spec"] = spec;
  pod["status"] = status;

  Json out;
  ApiError err = store_->Create("pods", ns, pod, &out);
  return err.ok() ? JsonResponse(201, out) : ErrorResponse(err);
}

HttpResponse AdminHandler::SetReady(const std::string& ns, const std::string& name,
                                    const Json& body) {
  Json r = Field(body, {"ready"});
  if (!r.is_boolean()) return Message(400, "body must be {\"ready\": true|false}");
  bool ready = r.as_bool();
  Json out;
  ApiError err = store_->Update(
      "pods", ns, name,
      [&](Json* pod) {
        if (PodReady(*pod) == ready) return Ok();
        std::string now = NowRfc3339();
        Json& conditions = MutableField(*pod, {"status", "conditions"});
        if (!conditions.is_array()) conditions = Json::array();
        for (auto& c : conditions.as_array()) {
          std::string type = StringField(c, {"type"});
          if (type == "Ready" || type == "ContainersReady") {
            c["status"] = Json::string(ready ? "True" : "False");
            c["lastTransitionTime"] = Json::string(now);
          }
        }
        Json& statuses = MutableField(*pod, {"status", "containerStatuses"});
        if (statuses.is_array()) {
          for (auto& s : statuses.as_array()) s["ready"] = Json::boolean(ready);
        }
        return Ok();
      },
      &out);
  return err.ok() ? JsonResponse(200, out) : ErrorResponse(err);
}

HttpResponse AdminHandler::AddFault(const Json& body) {
  Fault f;
  std::string method = StringField(body, {"method"});
  if (!method.empty()) f.method = method;
  f.path_prefix = StringField(body, {"pathPrefix"});
  Json watch = Field(body, {"watch"});
  if (watch.is_boolean()) f.watch = watch.as_bool();
  f.count = IntField(body, "count", 1);
  f.code = IntField(body, "code", 500);
  std::string reason = StringField(body, {"reason"});
  f.reason = !reason.empty() ? reason
             : f.code == 429 ? "TooManyRequests"
             : f.code == 503 ? "ServiceUnavailable"
             : f.code == 504 ? "Timeout"
             : f.code == 410 ? "Expired"
             : f.code == 409 ? "Conflict"
             : f.code == 404 ? "NotFound"
             : f.code == 403 ? "Forbidden"
             : f.code == 401 ? "Unauthorized"
                             : "InternalError";
  f.retry_after_seconds = IntField(body, "retryAfterSeconds", 0);
  controls_->AddFault(f);
  return Message(200, "fault added");
}

HttpResponse AdminHandler::AddForbid(const Json& body) {
  ForbidRule r;
  r.verb = StringField(body, {"verb"});
  r.resource = StringField(body, {"resource"});
  r.ns = StringField(body, {"namespace"});
  r.user = StringField(body, {"user"});
  if (r.verb.empty()) r.verb = "*";
  if (r.resource.empty()) r.resource = "*";
  controls_->AddForbid(r);
  return Message(200, "denial added");
}

HttpResponse AdminHandler::SetRole(const Json& body) {
  auto strings = [](const Json& v) {
    std::vector<std::string> out;
    if (!v.is_array()) return out;
    for (const Json& item : v.as_array()) {
      if (item.is_string()) out.push_back(item.as_string());
    }
    return out;
  };
  std::string ns = StringField(body, {"namespace"});
  Json rules = Field(body, {"rules"});
  if (ns.empty() || !rules.is_array()) {
    return Message(400,
                   "want {\"namespace\":\"ns\",\"rules\":[{\"verbs\":[..],\"resources\":[..]}]}");
  }
  std::vector<RoleRule> out;
  for (const Json& r : rules.as_array()) {
    RoleRule rule;
    rule.verbs = strings(Field(r, {"verbs"}));
    rule.resources = strings(Field(r, {"resources"}));
    rule.resource_names = strings(Field(r, {"resourceNames"}));
    out.push_back(std::move(rule));
  }
  controls_->SetRole(ns, std::move(out));
  return Message(200, "role set");
}

HttpResponse AdminHandler::RotateToken(const Json& body) {
  std::string token = StringField(body, {"token"});
  if (token.empty()) token = RandomSuffix(32);
  controls_->RotateToken(token, std::chrono::seconds(IntField(body, "graceSeconds", 0)));
  if (options_.on_token_rotated) options_.on_token_rotated(token);
  Json out = Json::object();
  out["token"] = Json::string(token);
  return JsonResponse(200, out);
}

Json AdminHandler::SelectorRecord(const std::string& service, int64_t since_mono_ns) {
  Json out = Json::array();
  size_t i = 0;
  for (const auto& e : store_->SelectorRecord()) {
    if ((!service.empty() && e.service != service) || e.mono_ns < since_mono_ns) continue;
    Json r = Json::object();
    r["tsMs"] = Json::number(static_cast<int64_t>(e.ts_ms));
    r["monoNs"] = Json::number(static_cast<int64_t>(e.mono_ns));
    r["namespace"] = Json::string(e.ns);
    r["service"] = Json::string(e.service);
    r["selector"] = StringMapJson(e.selector);
    r["matched"] = Strings(e.matched);
    r["matchedReady"] = Strings(e.matched_ready);
    out[i++] = r;
  }
  return out;
}

Json AdminHandler::Forwards() {
  Json out = Json::array();
  size_t i = 0;
  for (const auto& f : forwarder_->Forwards()) {
    Json r = Json::object();
    r["namespace"] = Json::string(f.ns);
    r["service"] = Json::string(f.service);
    r["port"] = Json::number(f.port);
    r["targetPort"] = f.target_port;
    r["localPort"] = Json::number(f.local_port);
    out[i++] = r;
  }
  return out;
}

Json AdminHandler::State() {
  Json out = Json::object();
  out["pods"] = Array(store_->All("pods"));
  out["services"] = Array(store_->All("services"));
  out["events"] = Array(store_->All("events"));
  return out;
}

}  // namespace amsha::standin
