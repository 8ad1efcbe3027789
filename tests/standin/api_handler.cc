#include "standin/api_handler.h"

#include <memory>
#include <set>
#include <thread>

#include "standin/discovery.h"
#include "standin/field_selector.h"
#include "standin/label_selector.h"
#include "standin/patch.h"
#include "standin/schema.h"
#include "standin/table.h"
#include "standin/validation.h"
#include "standin/watch_stream.h"

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

bool Truthy(const std::string& v) { return v == "true" || v == "1"; }

ApiError PathNotFound() {
  ApiError e;
  e.code = 404;
  e.reason = "NotFound";
  e.message = "the server could not find the requested resource";
  return e;
}

std::string BearerToken(const HttpRequest& req) {
  std::string auth = req.Header("authorization");
  const std::string prefix = "Bearer ";
  if (auth.compare(0, prefix.size(), prefix) != 0) return "";
  return auth.substr(prefix.size());
}

// The metadata.name a field selector pins, "" when none (or malformed: the
// list or watch itself then fails with 400).
std::string ExactMetadataName(const std::string& field_selector) {
  auto parsed = FieldSelector::Parse(field_selector);
  return parsed.ok() ? parsed->RequiredValue("metadata.name") : "";
}

std::string VerbOf(const std::string& method, bool has_name, bool watch) {
  if (method == "GET") return watch ? "watch" : has_name ? "get" : "list";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return has_name ? "delete" : "deletecollection";
  return "";
}

// Server-side field validation (fieldValidation=Strict|Warn|Ignore; Warn
// when absent), as the API server's decoders do it
// (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go, update.go
// and patch.go): an unknown field is 400 under Strict, otherwise dropped
// (the body is decoded into the Go type), with a Warning header under Warn.
// `for_patch` selects the patch handler's message, which does not name the
// kind.
ApiError CheckFields(const std::string& mode, const std::string& resource, Json* obj,
                     bool for_patch, std::vector<std::string>* warnings) {
  if (!mode.empty() && mode != "Strict" && mode != "Warn" && mode != "Ignore") {
    return BadRequest("fieldValidation: Unsupported value: \"" + mode +
                      "\": supported values: \"Ignore\", \"Strict\", \"Warn\"");
  }
  std::vector<std::string> unknown = UnknownFields(resource, obj, mode != "Strict");
  if (unknown.empty() || mode == "Ignore") return Ok();
  std::string list;
  for (const auto& f : unknown) {
    list += (list.empty() ? "" : ", ") + std::string("unknown field \"") + f + "\"";
    if (mode != "Strict") warnings->push_back("unknown field \"" + f + "\"");
  }
  if (mode != "Strict") return Ok();
  std::string kind = KindOf(resource);
  return BadRequest(for_patch ? "strict decoding error: " + list
                              : kind + " in version \"v1\" cannot be handled as a " + kind +
                                    ": strict decoding error: " + list);
}

void AddWarnings(const std::vector<std::string>& warnings, HttpResponse* res) {
  for (const auto& w : warnings) {
    std::string quoted;
    for (char c : w) quoted += c == '"' ? std::string("\\\"") : std::string(1, c);
    res->headers.push_back({"Warning", "299 - \"" + quoted + "\""});
  }
}

}  // namespace

HttpResponse JsonResponse(int code, const Json& body) {
  HttpResponse res;
  res.code = code;
  res.body = body.serialize();
  return res;
}

HttpResponse ErrorResponse(const ApiError& error) {
  HttpResponse res = JsonResponse(error.code, error.ToStatus());
  if (error.retry_after_seconds > 0) {
    res.headers.push_back({"Retry-After", std::to_string(error.retry_after_seconds)});
  }
  return res;
}

ApiHandler::ApiHandler(Store* store, Controls* controls, RequestLog* log,
                       std::chrono::seconds watch_timeout)
    : store_(store), controls_(controls), log_(log), watch_timeout_(watch_timeout) {}

HttpResponse ApiHandler::Handle(const HttpRequest& req) {
  auto latency = controls_->Latency();
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
  std::string verb, resource;
  HttpResponse res = Dispatch(req, Split(req.path), &verb, &resource);
  log_->Add(req.method, req.path, req.raw_query, res.code, req.Header("content-type"), req.body,
            verb, resource, req.Header("user-agent"));
  return res;
}

HttpResponse ApiHandler::Dispatch(const HttpRequest& req, const std::vector<std::string>& p,
                                  std::string* verb_out, std::string* resource_out) {
  if (p.size() == 1 && (p[0] == "healthz" || p[0] == "livez" || p[0] == "readyz")) {
    HttpResponse res;
    res.content_type = "text/plain";
    res.body = "ok";
    return res;
  }
  if (!controls_->TokenValid(BearerToken(req))) return ErrorResponse(Unauthorized());

  Route route;
  bool discovery = false;
  if (p.size() == 1 && (p[0] == "version" || p[0] == "api" || p[0] == "apis")) {
    discovery = true;
  } else if (p.size() >= 2 && p[0] == "openapi" && p[1] == "v3") {
    discovery = true;
  } else if (p.size() == 2 && p[0] == "api" && p[1] == "v1") {
    discovery = true;
  } else if (p.size() >= 3 && p[0] == "api" && p[1] == "v1") {
    std::vector<std::string> rest(p.begin() + 2, p.end());
    if (rest[0] == "watch") {
      route.watch_path = true;
      rest.erase(rest.begin());
    }
    if (rest.size() == 1) {
      route.resource = rest[0];
    } else if (rest.size() == 2 && rest[0] == "namespaces") {
      route.resource = "namespaces";
      route.name = rest[1];
    } else if ((rest.size() == 3 || rest.size() == 4) && rest[0] == "namespaces") {
      route.ns = rest[1];
      route.resource = rest[2];
      if (rest.size() == 4) route.name = rest[3];
    }
    if (!IsServedResource(route.resource) && route.resource != "namespaces") route.resource = "";
  }
  if (!discovery && route.resource.empty()) return ErrorResponse(PathNotFound());

  bool watch =
      route.watch_path || (req.method == "GET" && route.name.empty() && Truthy(req.Query("watch")));
  auto fault = controls_->TakeFault(req.method, req.path, watch);
  if (fault) {
    return ErrorResponse(Injected(fault->code, fault->reason, fault->retry_after_seconds));
  }
  if (discovery) {
    if (req.method != "GET") return ErrorResponse(MethodNotAllowed());
    if (p[0] == "version") return JsonResponse(200, VersionInfo());
    if (p[0] == "openapi") {
      if (p.size() == 2) return JsonResponse(200, OpenApiV3Index());
      if (p.size() == 4 && p[2] == "api" && p[3] == "v1") {
        return JsonResponse(200, OpenApiV3CoreV1());
      }
      return ErrorResponse(PathNotFound());
    }
    if (p[0] == "apis") return JsonResponse(200, ApiGroupList());
    if (p.size() == 1) return JsonResponse(200, ApiVersions(server_address_));
    return JsonResponse(200, CoreV1Resources());
  }
  std::string verb = VerbOf(req.method, !route.name.empty(), watch);
  if (verb.empty()) return ErrorResponse(MethodNotAllowed());
  *verb_out = verb;
  *resource_out = route.resource;
  // The name RBAC sees: the path's, or for a list or watch the
  // fieldSelector's metadata.name (staging/src/k8s.io/apiserver/pkg/
  // endpoints/request/requestinfo.go), so that resourceNames can grant a
  // watch of one object but never of the collection.
  std::string rbac_name = route.name;
  if (rbac_name.empty() && (verb == "list" || verb == "watch")) {
    rbac_name = ExactMetadataName(req.Query("fieldSelector"));
  }
  auto denied = controls_->Forbidden(verb, route.resource, route.ns, rbac_name);
  if (denied) {
    std::string user = denied->user.empty()
                           ? "system:serviceaccount:" + (route.ns.empty() ? "default" : route.ns) +
                                 ":ams-ha-controller"
                           : denied->user;
    return ErrorResponse(Forbidden(user, verb, route.resource, route.name, route.ns));
  }
  return Serve(req, route, verb);
}

HttpResponse ApiHandler::Serve(const HttpRequest& req, const Route& route,
                               const std::string& verb) {
  if (route.resource == "namespaces") {
    if (verb != "get" && verb != "list") return ErrorResponse(MethodNotAllowed());
    return Namespaces(route);
  }
  if (verb == "list") return List(req, route);
  if (verb == "watch") return Watch(req, route);
  // Writes and gets need a namespace; creates go to the collection, the
  // other verbs to one object.
  if (route.ns.empty()) return ErrorResponse(PathNotFound());
  if ((verb == "create") != route.name.empty()) return ErrorResponse(MethodNotAllowed());
  Json out;
  ApiError err;
  std::string field_mode = req.Query("fieldValidation");
  std::vector<std::string> warnings;
  // The field manager of a write: the fieldManager parameter, else the
  // User-Agent up to its first '/', as the API server derives it
  // (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go).
  std::string manager = req.Query("fieldManager");
  if (manager.empty()) {
    manager = req.Header("user-agent");
    manager = manager.substr(0, manager.find('/'));
  }
  if (verb == "get") {
    err = store_->Get(route.resource, route.ns, route.name, &out);
    if (err.ok() && WantsTable(req.Header("accept"))) {
      return JsonResponse(
          200, ToTable(route.resource, {out}, StringField(out, {"metadata", "resourceVersion"}),
                       req.Query("includeObject")));
    }
  } else if (verb == "create") {
    auto body = ParseJson(req.body);
    if (!body) return ErrorResponse(BadRequest("the request body is not valid JSON"));
    err = CheckFields(field_mode, route.resource, &*body, false, &warnings);
    if (err.ok()) err = store_->Create(route.resource, route.ns, *body, &out, manager);
    if (err.ok()) {
      HttpResponse res = JsonResponse(201, out);
      AddWarnings(warnings, &res);
      return res;
    }
  } else if (verb == "update") {
    auto body = ParseJson(req.body);
    if (!body) return ErrorResponse(BadRequest("the request body is not valid JSON"));
    err = CheckFields(field_mode, route.resource, &*body, false, &warnings);
    if (err.ok()) {
      err = store_->Update(
          route.resource, route.ns, route.name,
          [&](Json* obj) {
            *obj = *body;
            return Ok();
          },
          &out, manager);
    }
  } else if (verb == "patch" &&
             req.Header("content-type").rfind("application/apply-patch+yaml", 0) == 0) {
    // Server-side apply (field_owners.h). kubectl sends the configuration
    // as JSON (a YAML subset); a YAML-only body is refused here.
    if (req.Query("fieldManager").empty()) {
      return ErrorResponse(BadRequest(
          "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required "
          "for apply patch"));
    }
    auto config = ParseJson(req.body);
    if (!config || !config->is_object()) {
      return ErrorResponse(BadRequest("the stand-in accepts apply configurations in JSON only"));
    }
    err = CheckFields(field_mode.empty() ? "Strict" : field_mode, route.resource, &*config, true,
                      &warnings);
    bool created = false;
    if (err.ok()) {
      err = store_->Apply(route.resource, route.ns, route.name, *config, manager,
                          req.Query("force") == "true", &out, &created);
    }
    if (err.ok() && created) return JsonResponse(201, out);
  } else if (verb == "patch") {
    std::string type = req.Header("content-type");
    err = store_->Update(
        route.resource, route.ns, route.name,
        [&](Json* obj) {
          ApiError patched = ApplyPatch(type, req.body, obj);
          if (!patched.ok()) return patched;
          return CheckFields(field_mode, route.resource, obj, true, &warnings);
        },
        &out, manager);
  } else if (verb == "delete") {
    return Delete(req, route);
  } else {
    return ErrorResponse(MethodNotAllowed());
  }
  if (!err.ok()) return ErrorResponse(err);
  HttpResponse res = JsonResponse(200, out);
  AddWarnings(warnings, &res);
  return res;
}

HttpResponse ApiHandler::List(const HttpRequest& req, const Route& route) {
  auto labels = LabelSelector::Parse(req.Query("labelSelector"));
  if (!labels.ok()) return ErrorResponse(BadRequest(labels.status().message()));
  auto fields = FieldSelector::Parse(req.Query("fieldSelector"));
  if (!fields.ok()) return ErrorResponse(BadRequest(fields.status().message()));
  std::vector<Json> items;
  std::string rv;
  store_->List(
      route.resource, route.ns,
      [&](const Json& obj) {
        return labels->Matches(StringMap(Field(obj, {"metadata", "labels"}))) &&
               fields->Matches(obj);
      },
      &items, &rv);
  if (WantsTable(req.Header("accept"))) {
    return JsonResponse(200, ToTable(route.resource, items, rv, req.Query("includeObject")));
  }
  Json list = Json::object();
  list["kind"] = Json::string(ListKindOf(route.resource));
  list["apiVersion"] = Json::string("v1");
  list["metadata"] = Json::object();
  list["metadata"]["resourceVersion"] = Json::string(rv);
  list["items"] = Json::array();
  for (size_t i = 0; i < items.size(); ++i) list["items"][i] = items[i];
  return JsonResponse(200, list);
}

HttpResponse ApiHandler::Watch(const HttpRequest& req, const Route& route) {
  auto labels = LabelSelector::Parse(req.Query("labelSelector"));
  if (!labels.ok()) return ErrorResponse(BadRequest(labels.status().message()));
  std::string field_text = req.Query("fieldSelector");
  if (!route.name.empty())
    field_text += (field_text.empty() ? "" : ",") + std::string("metadata.name=") + route.name;
  auto fields = FieldSelector::Parse(field_text);
  if (!fields.ok()) return ErrorResponse(BadRequest(fields.status().message()));
  WatchOptions options;
  options.labels = *labels;
  options.fields = *fields;
  options.bookmarks = Truthy(req.Query("allowWatchBookmarks"));
  options.kind = KindOf(route.resource);
  options.timeout = watch_timeout_;
  if (WantsTable(req.Header("accept"))) {
    options.transform = [resource = route.resource,
                         include = req.Query("includeObject")](const Json& obj) {
      return ToTable(resource, {obj}, StringField(obj, {"metadata", "resourceVersion"}), include);
    };
  }
  std::string timeout = req.Query("timeoutSeconds");
  if (!timeout.empty()) {
    try {
      long long t = std::stoll(timeout);
      if (t > 0 && t < watch_timeout_.count()) options.timeout = std::chrono::seconds(t);
    } catch (const std::exception&) {
      return ErrorResponse(BadRequest("invalid timeoutSeconds \"" + timeout + "\""));
    }
  }
  std::shared_ptr<WatchQueue> queue;
  std::vector<StoredEvent> backlog;
  ApiError err =
      store_->Watch(route.resource, route.ns, req.Query("resourceVersion"), &queue, &backlog);
  HttpResponse res;
  if (err.code == 410) {
    // Like the API server: 200, then one ERROR event, then a clean end.
    Json status = err.ToStatus();
    res.stream = [status](ChunkSink& sink) {
      sink.Write(ErrorEventLine(status));
      return StreamEnd::kClean;
    };
    return res;
  }
  if (!err.ok()) return ErrorResponse(err);
  auto stream = std::make_shared<WatchStream>(store_, controls_, queue, std::move(backlog),
                                              std::move(options));
  res.stream = [stream](ChunkSink& sink) { return stream->Run(sink); };
  return res;
}

HttpResponse ApiHandler::Delete(const HttpRequest& req, const Route& route) {
  std::optional<int64_t> grace;
  std::string precondition_rv;
  try {
    if (req.HasQuery("gracePeriodSeconds")) grace = std::stoll(req.Query("gracePeriodSeconds"));
  } catch (const std::exception&) {
    return ErrorResponse(BadRequest("invalid gracePeriodSeconds"));
  }
  if (!req.body.empty()) {
    auto options = ParseJson(req.body);
    if (!options) return ErrorResponse(BadRequest("the DeleteOptions body is not valid JSON"));
    Json g = Field(*options, {"gracePeriodSeconds"});
    if (g.is_integer()) grace = g.as_number().to_int64();
    precondition_rv = StringField(*options, {"preconditions", "resourceVersion"});
  }
  Json out;
  if (!precondition_rv.empty()) {
    ApiError err = store_->Get(route.resource, route.ns, route.name, &out);
    if (!err.ok()) return ErrorResponse(err);
    if (StringField(out, {"metadata", "resourceVersion"}) != precondition_rv) {
      return ErrorResponse(Conflict(route.resource, route.name));
    }
  }
  ApiError err = store_->Delete(route.resource, route.ns, route.name, grace, &out);
  return err.ok() ? JsonResponse(200, out) : ErrorResponse(err);
}

HttpResponse ApiHandler::Namespaces(const Route& route) {
  auto make = [](const std::string& name) {
    Json ns = Json::object();
    ns["kind"] = Json::string("Namespace");
    ns["apiVersion"] = Json::string("v1");
    ns["metadata"] = Json::object();
    ns["metadata"]["name"] = Json::string(name);
    ns["status"] = Json::object();
    ns["status"]["phase"] = Json::string("Active");
    return ns;
  };
  if (!route.name.empty()) return JsonResponse(200, make(route.name));
  std::set<std::string> names = {"default"};
  for (const char* r : {"pods", "services", "events"}) {
    for (const auto& obj : store_->All(r))
      names.insert(StringField(obj, {"metadata", "namespace"}));
  }
  Json list = Json::object();
  list["kind"] = Json::string("NamespaceList");
  list["apiVersion"] = Json::string("v1");
  list["metadata"] = Json::object();
  list["items"] = Json::array();
  size_t i = 0;
  for (const auto& n : names) list["items"][i++] = make(n);
  return JsonResponse(200, list);
}

}  // namespace amsha::standin
