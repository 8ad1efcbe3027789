// The cpprestsdk adapter. Every exception cpprest (or Boost.Asio beneath it)
// throws is caught in this file and turned into a Status.
#include "kube/rest_kube_api.h"

#include <cpprest/asyncrt_utils.h>
#include <cpprest/http_client.h>
#include <cpprest/json.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "common/logging.h"
#include "kube/event_recorder.h"
#include "kube/token_source.h"

namespace amsha {

namespace json = web::json;
namespace http = web::http;

namespace kube_wire {
namespace {

// --- JSON reading helpers: absent or mistyped fields read as empty ---

const json::value* Field(const json::value& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const json::object& o = object.as_object();
  auto it = o.find(key);
  return it == o.end() ? nullptr : &it->second;
}

std::string Str(const json::value* v) { return v && v->is_string() ? v->as_string() : ""; }

std::string StrAt(const json::value& object, const char* a, const char* b = nullptr) {
  const json::value* v = Field(object, a);
  if (b && v) v = Field(*v, b);
  return Str(v);
}

Labels StringMap(const json::value* v) {
  Labels out;
  if (!v || !v->is_object()) return out;
  for (const auto& [key, value] : v->as_object()) {
    if (value.is_string()) out[key] = value.as_string();
  }
  return out;
}

StatusOr<json::value> ParseJson(const std::string& text, const char* what) {
  try {
    return json::value::parse(text);
  } catch (const std::exception& e) {
    return InternalError(std::string("malformed ") + what + " from the API server: " + e.what());
  }
}

Pod PodFromJson(const json::value& v) {
  Pod pod;
  const json::value* meta = Field(v, "metadata");
  if (meta) {
    pod.name = Str(Field(*meta, "name"));
    pod.namespace_name = Str(Field(*meta, "namespace"));
    pod.uid = Str(Field(*meta, "uid"));
    pod.labels = StringMap(Field(*meta, "labels"));
    pod.resource_version = Str(Field(*meta, "resourceVersion"));
    const json::value* deletion = Field(*meta, "deletionTimestamp");
    if (deletion && deletion->is_string()) pod.deletion_timestamp = deletion->as_string();
  }
  const json::value* status = Field(v, "status");
  if (status) {
    pod.pod_ip = Str(Field(*status, "podIP"));
    pod.phase = Str(Field(*status, "phase"));
    const json::value* conditions = Field(*status, "conditions");
    if (conditions && conditions->is_array()) {
      for (const json::value& c : conditions->as_array()) {
        if (StrAt(c, "type") != "Ready") continue;
        pod.ready = StrAt(c, "status") == "True";
        pod.ready_transition_time = StrAt(c, "lastTransitionTime");
      }
    }
  }
  return pod;
}

Service ServiceFromJson(const json::value& v) {
  Service service;
  if (const json::value* meta = Field(v, "metadata")) {
    service.name = Str(Field(*meta, "name"));
    service.namespace_name = Str(Field(*meta, "namespace"));
    service.uid = Str(Field(*meta, "uid"));
    service.annotations = StringMap(Field(*meta, "annotations"));
    service.resource_version = Str(Field(*meta, "resourceVersion"));
  }
  if (const json::value* spec = Field(v, "spec"))
    service.selector = StringMap(Field(*spec, "selector"));
  return service;
}

json::value PatchMap(const LabelPatch& patch) {
  json::value out = json::value::object();
  for (const auto& [key, value] : patch) {
    out[key] = value ? json::value::string(*value) : json::value::null();
  }
  return out;
}

std::string Rfc3339(WallTime t, bool micros) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(since - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  if (micros) {
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(us));
  } else {
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return buf;
}

// The API's StatusReason for a code, when the body does not name one.
const char* DefaultReason(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
  }
  return "";
}

std::string Describe(const RequestTarget& t) {
  std::string out = "cannot " + t.verb + " " + t.resource;
  if (!t.name.empty()) out += " \"" + t.name + "\"";
  return out + " in namespace \"" + t.namespace_name + "\"";
}

// Status from an API Status object's fields.
Status ErrorFromStatusFields(int code, std::string reason, std::string message,
                             const RequestTarget& target, const std::string& retry_after) {
  StatusCode sc;
  const char* kind;
  const char* hint = "";
  if (code == 401) {
    sc = StatusCode::kUnauthenticated;
    kind = "unauthorized";
    hint = "; check the controller's credentials (service-account token or kubeconfig user)";
  } else if (code == 403) {
    sc = StatusCode::kPermissionDenied;
    kind = "forbidden";
    hint = "; grant it in the controller's Role";
  } else if (code == 404) {
    sc = StatusCode::kNotFound;
    kind = "not found";
  } else if (code == 409) {
    sc = StatusCode::kConflict;
    kind = "conflict";
  } else if (code == 410) {
    sc = StatusCode::kGone;
    kind = "gone";
  } else if (code == 400 || code == 422) {
    sc = StatusCode::kInvalidArgument;
    kind = "invalid";
  } else if (code == 429) {
    sc = StatusCode::kUnavailable;
    kind = "too many requests";
  } else if (code >= 500) {
    sc = StatusCode::kUnavailable;
    kind = "server error";
  } else {
    // 405, 415 and other 4xx: the request itself is wrong, a bug here.
    sc = StatusCode::kInternal;
    kind = "rejected";
  }
  if (reason.empty()) reason = DefaultReason(code);
  std::string http = "HTTP " + std::to_string(code) + (reason.empty() ? "" : " " + reason);
  if (!retry_after.empty()) http += ", retry after " + retry_after + "s";
  if (message.empty()) message = "(no message)";
  return Status(sc,
                std::string(kind) + ": " + Describe(target) + " (" + http + "): " + message + hint);
}

}  // namespace

std::string EncodeComponent(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string PodsPath(const std::string& ns, const std::string& name) {
  std::string path = "/api/v1/namespaces/" + EncodeComponent(ns) + "/pods";
  return name.empty() ? path : path + "/" + EncodeComponent(name);
}

std::string ServicesPath(const std::string& ns, const std::string& name) {
  std::string path = "/api/v1/namespaces/" + EncodeComponent(ns) + "/services";
  return name.empty() ? path : path + "/" + EncodeComponent(name);
}

std::string EventsPath(const std::string& ns, const std::string& name) {
  std::string path = "/api/v1/namespaces/" + EncodeComponent(ns) + "/events";
  return name.empty() ? path : path + "/" + EncodeComponent(name);
}

std::string WithStrictValidation(const std::string& path) {
  return path + "?fieldValidation=Strict";
}

std::string ListPodsUrl(const std::string& ns, const std::string& label_selector) {
  std::string url = PodsPath(ns);
  if (!label_selector.empty()) url += "?labelSelector=" + EncodeComponent(label_selector);
  return url;
}

namespace {

std::string WatchUrl(const std::string& collection, const std::string& label_selector,
                     const std::string& resource_version, int timeout_seconds) {
  std::string url = collection + "?watch=true&allowWatchBookmarks=true";
  if (!label_selector.empty()) url += "&labelSelector=" + EncodeComponent(label_selector);
  if (!resource_version.empty()) url += "&resourceVersion=" + EncodeComponent(resource_version);
  url += "&timeoutSeconds=" + std::to_string(timeout_seconds);
  return url;
}

}  // namespace

std::string WatchPodsUrl(const std::string& ns, const std::string& label_selector,
                         const std::string& resource_version, int timeout_seconds) {
  return WatchUrl(PodsPath(ns), label_selector, resource_version, timeout_seconds);
}

std::string WatchServicesUrl(const std::string& ns, const std::string& resource_version,
                             int timeout_seconds) {
  return WatchUrl(ServicesPath(ns), "", resource_version, timeout_seconds);
}

std::string PodLabelsPatch(const LabelPatch& labels) {
  json::value body = json::value::object();
  body["metadata"]["labels"] = PatchMap(labels);
  return body.serialize();
}

std::string ServiceMergePatch(const Labels& current, const ServicePatch& patch,
                              const std::string& resource_version) {
  json::value body = json::value::object();
  json::value metadata = json::value::object();
  if (!patch.annotations.empty()) metadata["annotations"] = PatchMap(patch.annotations);
  if (!resource_version.empty())
    metadata["resourceVersion"] = json::value::string(resource_version);
  if (metadata.size() > 0) body["metadata"] = metadata;
  if (patch.selector) {
    LabelPatch selector;
    for (const auto& [key, value] : current) selector[key] = std::nullopt;
    for (const auto& [key, value] : *patch.selector) selector[key] = value;
    body["spec"]["selector"] = PatchMap(selector);
  }
  return body.serialize();
}

std::string EventBody(const Event& event, const std::string& ns) {
  const ObjectReference& ref = event.involved_object;
  std::string object_ns = ref.namespace_name.empty() ? ns : ref.namespace_name;

  json::value body = json::value::object();
  body["apiVersion"] = json::value::string("v1");
  body["kind"] = json::value::string("Event");
  body["metadata"]["name"] =
      json::value::string(event.name.empty() ? EventName(ref, event.first_time) : event.name);
  body["metadata"]["namespace"] = json::value::string(object_ns);
  json::value involved = json::value::object();
  involved["apiVersion"] = json::value::string(ref.api_version);
  involved["kind"] = json::value::string(ref.kind);
  involved["name"] = json::value::string(ref.name);
  involved["namespace"] = json::value::string(object_ns);
  if (!ref.uid.empty()) involved["uid"] = json::value::string(ref.uid);
  if (!ref.resource_version.empty())
    involved["resourceVersion"] = json::value::string(ref.resource_version);
  body["involvedObject"] = involved;
  body["reason"] = json::value::string(event.reason);
  body["action"] = json::value::string(event.action);
  body["message"] = json::value::string(event.message);
  body["type"] = json::value::string(event.type);
  body["source"]["component"] = json::value::string(event.reporting_component);
  body["reportingComponent"] = json::value::string(event.reporting_component);
  body["reportingInstance"] = json::value::string(event.reporting_instance);
  body["firstTimestamp"] = json::value::string(Rfc3339(event.first_time, false));
  WallTime last = std::max(event.last_time, event.first_time);
  body["lastTimestamp"] = json::value::string(Rfc3339(last, false));
  body["eventTime"] = json::value::string(Rfc3339(event.first_time, true));
  body["count"] = json::value::number(std::max(event.count, 1));
  if (event.count > 1) {
    body["series"]["count"] = json::value::number(event.count);
    body["series"]["lastObservedTime"] = json::value::string(Rfc3339(last, true));
  }
  return body.serialize();
}

std::string EventSeriesPatch(const Event& event) {
  WallTime last = std::max(event.last_time, event.first_time);
  json::value body = json::value::object();
  body["count"] = json::value::number(event.count);
  body["lastTimestamp"] = json::value::string(Rfc3339(last, false));
  body["message"] = json::value::string(event.message);
  body["series"]["count"] = json::value::number(event.count);
  body["series"]["lastObservedTime"] = json::value::string(Rfc3339(last, true));
  return body.serialize();
}

StatusOr<Pod> ParsePod(const std::string& text) {
  StatusOr<json::value> v = ParseJson(text, "pod");
  if (!v.ok()) return v.status();
  Pod pod = PodFromJson(*v);
  if (pod.name.empty()) return InternalError("pod from the API server has no metadata.name");
  return pod;
}

namespace {

// A PodList or ServiceList: items read by `from_json`, the list's
// resourceVersion to start a watch from.
template <typename List, typename FromJson>
StatusOr<List> ParseListOf(const std::string& text, const char* what, FromJson from_json) {
  StatusOr<json::value> v = ParseJson(text, what);
  if (!v.ok()) return v.status();
  List list;
  list.resource_version = StrAt(*v, "metadata", "resourceVersion");
  const json::value* items = Field(*v, "items");
  if (items && items->is_array()) {
    for (const json::value& item : items->as_array()) list.items.push_back(from_json(item));
  }
  return list;
}

}  // namespace

StatusOr<PodList> ParsePodList(const std::string& text) {
  return ParseListOf<PodList>(text, "pod list", PodFromJson);
}

StatusOr<ServiceList> ParseServiceList(const std::string& text) {
  return ParseListOf<ServiceList>(text, "service list", ServiceFromJson);
}

StatusOr<Service> ParseService(const std::string& text) {
  StatusOr<json::value> v = ParseJson(text, "service");
  if (!v.ok()) return v.status();
  Service service = ServiceFromJson(*v);
  if (service.name.empty()) return InternalError("service from the API server has no name");
  return service;
}

namespace {

// The type and object of one watch line; an ERROR event as its Status.
struct WatchLine {
  WatchEventType type;
  json::value object;
};

StatusOr<WatchLine> ParseWatchEnvelope(const std::string& line, const RequestTarget& target) {
  StatusOr<json::value> v = ParseJson(line, "watch event");
  if (!v.ok()) return v.status();
  std::string type = StrAt(*v, "type");
  const json::value* object = Field(*v, "object");
  if (!object || !object->is_object())
    return InternalError("watch event without an object: " + line.substr(0, 200));
  if (type == "ERROR") {
    const json::value* code = Field(*object, "code");
    int http_code = code && code->is_integer() ? code->as_integer() : 500;
    return ErrorFromStatusFields(http_code, StrAt(*object, "reason"), StrAt(*object, "message"),
                                 target, "");
  }
  WatchLine out{WatchEventType::kAdded, *object};
  if (type == "ADDED") {
    out.type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    out.type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    out.type = WatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    out.type = WatchEventType::kBookmark;
  } else {
    return InternalError("watch event of unknown type \"" + type + "\"");
  }
  return out;
}

}  // namespace

StatusOr<PodWatchEvent> ParseWatchLine(const std::string& line, const RequestTarget& target) {
  StatusOr<WatchLine> w = ParseWatchEnvelope(line, target);
  if (!w.ok()) return w.status();
  return PodWatchEvent{w->type, PodFromJson(w->object)};
}

StatusOr<ServiceWatchEvent> ParseServiceWatchLine(const std::string& line,
                                                  const RequestTarget& target) {
  StatusOr<WatchLine> w = ParseWatchEnvelope(line, target);
  if (!w.ok()) return w.status();
  return ServiceWatchEvent{w->type, ServiceFromJson(w->object)};
}

Status ErrorFromResponse(int http_status, const std::string& body, const RequestTarget& target,
                         const std::string& retry_after) {
  std::string reason;
  std::string message;
  try {
    json::value v = json::value::parse(body);
    if (StrAt(v, "kind") == "Status") {
      reason = StrAt(v, "reason");
      message = StrAt(v, "message");
    }
  } catch (const std::exception&) {
    // Not a Status object (a proxy's HTML page, say): quote the start.
    message = body.substr(0, 200);
  }
  return ErrorFromStatusFields(http_status, reason, message, target, retry_after);
}

}  // namespace kube_wire

using kube_wire::RequestTarget;

// Declared in kube_connection.h; here because this is the cpprestsdk adapter.
// Go's base64.StdEncoding (how client-go decodes a kubeconfig's []byte
// fields) skips '\r' and '\n' and requires padding; cpprestsdk's decoder
// requires padding and throws on any other character.
std::optional<std::string> DecodeBase64(const std::string& text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != '\r' && c != '\n') clean += c;
  }
  try {
    std::vector<unsigned char> bytes = utility::conversions::from_base64(clean);
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string EncodeBase64(const std::string& bytes) {
  return utility::conversions::to_base64(std::vector<unsigned char>(bytes.begin(), bytes.end()));
}

namespace {

// Configures TLS on each new connection's context. Also run once at Create()
// to turn unusable PEM into a start-up error.
boost::system::error_code ConfigureTls(const KubeConnection& conn, boost::asio::ssl::context& ctx) {
  boost::system::error_code ec;
  if (!conn.ca_pem.empty()) {
    // A CA in the connection replaces the system roots, as in kubectl.
    SSL_CTX_set_cert_store(ctx.native_handle(), X509_STORE_new());
    ctx.add_certificate_authority(boost::asio::buffer(conn.ca_pem), ec);
    if (ec) return ec;
  }
  if (!conn.client_cert_pem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(conn.client_cert_pem), ec);
    if (ec) return ec;
    ctx.use_private_key(boost::asio::buffer(conn.client_key_pem), boost::asio::ssl::context::pem,
                        ec);
  }
  return ec;
}

std::string Seconds(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%gs", d.count() / 1000.0);
  return buf;
}

}  // namespace

class RestKubeApi::Impl {
 public:
  Impl(KubeConnection conn, RestKubeApiOptions options, http::client::http_client_config request,
       http::client::http_client_config watch, std::shared_ptr<ExecCredentialPlugin> exec)
      : conn_(std::move(conn)),
        options_(std::move(options)),
        tokens_(conn_.token, conn_.token_file, exec),
        client_(conn_.server, request),
        watch_client_(conn_.server, watch) {}

  struct Response {
    int code = 0;
    std::string body;
    std::string retry_after;  // the Retry-After header of a 429 or 503
  };

  // Sends one request and reads the whole response. A transport failure is
  // kUnavailable; any HTTP status comes back as a Response. A 401 is retried
  // once if re-reading the token file shows a new token.
  StatusOr<Response> Send(const http::method& method, const std::string& url,
                          const std::string& body, const std::string& content_type,
                          const RequestTarget& target, const Cancellation* cancel) {
    for (int attempt = 0;; ++attempt) {
      http::http_request request(method);
      request.set_request_uri(url);
      std::string sent = AddHeaders(&request);
      if (!content_type.empty()) request.set_body(body, content_type);
      MonoTime start = options_.clock->Now();
      Response response;
      CancelLink link(cancel);
      try {
        http::http_response r = client_.request(request, link.token()).get();
        response.code = r.status_code();
        response.body = r.extract_utf8string(true).get();
        auto retry = r.headers().find("Retry-After");
        if (retry != r.headers().end()) response.retry_after = retry->second;
      } catch (const std::exception& e) {
        Observe(target.verb, 0, start);
        if (cancel && cancel->IsCancelled()) return CancelledError(target.verb + " cancelled");
        return TransportError(target, e, options_.request_timeout);
      }
      Observe(target.verb, response.code, start);
      if (response.code == 401 && attempt == 0 && tokens_.Refresh(sent)) continue;
      return response;
    }
  }

  // Send() plus the error mapping for non-2xx answers.
  StatusOr<std::string> Call(const http::method& method, const std::string& url,
                             const std::string& body, const std::string& content_type,
                             const RequestTarget& target, const Cancellation* cancel = nullptr) {
    StatusOr<Response> r = Send(method, url, body, content_type, target, cancel);
    if (!r.ok()) return r.status();
    if (r->code < 200 || r->code > 299) {
      return kube_wire::ErrorFromResponse(r->code, r->body, target, r->retry_after);
    }
    return std::move(r->body);
  }

  // One watch request to `url`: each line of the stream goes to
  // `on_line` (which parses it and hands on the event; an error ends the
  // watch with it).
  using LineHandler = std::function<Status(const std::string& line)>;
  Status Watch(const std::string& url, const RequestTarget& target, const LineHandler& on_line,
               const Cancellation& cancel) {
    http::http_request request(http::methods::GET);
    request.set_request_uri(url);
    std::string sent = AddHeaders(&request);

    // Also closes a stream we stop reading early, so it is not pooled.
    CancelLink link(&cancel, /*close_at_end=*/true);
    MonoTime start = options_.clock->Now();
    int code = 0;
    Status result;
    try {
      http::http_response response = watch_client_.request(request, link.token()).get();
      code = response.status_code();
      if (code != 200) {
        std::string body = response.extract_utf8string(true).get();
        Observe("watch", code, start);
        if (code == 401) tokens_.Refresh(sent);
        return kube_wire::ErrorFromResponse(code, body, target, "");
      }
      result = ReadEvents(response, on_line, cancel);
    } catch (const pplx::task_canceled&) {
      result = CancelledError("watch cancelled");
    } catch (const std::exception& e) {
      result = cancel.IsCancelled() ? CancelledError("watch cancelled")
                                    : TransportError(target, e, IdleTimeout(options_));
    }
    Observe("watch", code, start);
    return result;
  }

  // Watch() with each line parsed by `parse` (a kube_wire::Parse*WatchLine)
  // and handed to `on_event`.
  template <typename Event>
  Status WatchEvents(const std::string& url, const RequestTarget& target,
                     StatusOr<Event> (*parse)(const std::string&, const RequestTarget&),
                     const std::function<void(const Event&)>& on_event,
                     const Cancellation& cancel) {
    return Watch(
        url, target,
        [&](const std::string& line) {
          StatusOr<Event> event = parse(line, target);
          if (!event.ok()) return event.status();
          on_event(*event);
          return Status::Ok();
        },
        cancel);
  }

  int WatchTimeoutSeconds() const { return static_cast<int>(options_.watch_timeout.count()); }

  const RestKubeApiOptions& options() const { return options_; }

  // How long a watch may stay silent before it counts as dead.
  static std::chrono::milliseconds IdleTimeout(const RestKubeApiOptions& options) {
    if (options.watch_idle_timeout.count() > 0) return options.watch_idle_timeout;
    return options.watch_timeout + std::chrono::seconds(30);
  }

 private:
  // Ties a Cancellation to one request: Cancel() closes the connection
  // through cpprest's cancellation token, so a blocked request or read fails
  // at once. The token source is a shared handle, so the callback stays
  // valid however late Cancel() runs it.
  class CancelLink {
   public:
    explicit CancelLink(const Cancellation* cancel, bool close_at_end = false)
        : cancel_(cancel), close_at_end_(close_at_end) {
      if (cancel_) {
        pplx::cancellation_token_source cts = cts_;
        id_ = cancel_->OnCancel([cts]() mutable { cts.cancel(); });
      }
    }
    ~CancelLink() {
      if (cancel_) cancel_->RemoveCallback(id_);
      if (close_at_end_) cts_.cancel();
    }
    pplx::cancellation_token token() const {
      return cancel_ ? cts_.get_token() : pplx::cancellation_token::none();
    }

   private:
    const Cancellation* cancel_;
    const bool close_at_end_;
    pplx::cancellation_token_source cts_;
    int id_ = 0;
  };

  // Reads the chunked body on this thread, one JSON event per line.
  Status ReadEvents(http::http_response& response, const LineHandler& on_line,
                    const Cancellation& cancel) {
    concurrency::streams::streambuf<uint8_t> body = response.body().streambuf();
    std::string pending;
    uint8_t buf[16384];
    while (true) {
      // Blocks until a byte, the end of the stream, or an error (cut, idle
      // timeout, cancellation: the latter throw).
      auto first = body.bumpc().get();
      if (first == concurrency::streams::streambuf<uint8_t>::traits::eof()) break;
      pending.push_back(static_cast<char>(first));
      size_t available = std::min(body.in_avail(), sizeof(buf));
      if (available > 0) {
        // At most what is buffered, so this completes at once.
        size_t got = body.getn(buf, available).get();
        pending.append(reinterpret_cast<const char*>(buf), got);
      }
      size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        Status s = HandleLine(pending.substr(0, newline), on_line);
        pending.erase(0, newline + 1);
        if (!s.ok()) return s;
      }
      if (cancel.IsCancelled()) return CancelledError("watch cancelled");
    }
    if (cancel.IsCancelled()) return CancelledError("watch cancelled");
    // The server ended the stream cleanly (its timeout): the caller resumes.
    if (!pending.empty()) return HandleLine(pending, on_line);
    return Status::Ok();
  }

  static Status HandleLine(const std::string& line, const LineHandler& on_line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) return Status::Ok();
    return on_line(line);
  }

  // Returns the bearer token it put on the request ("" for none).
  std::string AddHeaders(http::http_request* request) {
    std::string token = tokens_.Get();
    if (!token.empty()) request->headers().add("Authorization", "Bearer " + token);
    request->headers().add("Accept", "application/json");
    request->headers().add("User-Agent", options_.user_agent);
    return token;
  }

  void Observe(const std::string& verb, int code, MonoTime start) {
    if (!options_.observer) return;
    double seconds = std::chrono::duration<double>(options_.clock->Now() - start).count();
    options_.observer(verb, code, seconds);
  }

  Status TransportError(const RequestTarget& target, const std::exception& e,
                        std::chrono::milliseconds timeout) {
    std::string what = e.what();
    if (auto* he = dynamic_cast<const http::http_exception*>(&e)) {
      if (he->error_code() == std::errc::timed_out) what = "no answer within " + Seconds(timeout);
    }
    return UnavailableError("cannot " + target.verb + " " + target.resource +
                            (target.name.empty() ? "" : " \"" + target.name + "\"") +
                            " in namespace \"" + target.namespace_name + "\": " + conn_.server +
                            ": " + what);
  }

  const KubeConnection conn_;
  const RestKubeApiOptions options_;
  TokenSource tokens_;
  http::client::http_client client_;
  http::client::http_client watch_client_;
};

StatusOr<std::unique_ptr<RestKubeApi>> RestKubeApi::Create(const KubeConnection& connection,
                                                           RestKubeApiOptions options) {
  try {
    web::uri base(connection.server);
    if (base.scheme() != "https" && base.scheme() != "http")
      return InvalidArgumentError("Kubernetes server \"" + connection.server +
                                  "\" must be an https:// or http:// URL");
  } catch (const std::exception& e) {
    return InvalidArgumentError("Kubernetes server \"" + connection.server +
                                "\" is not a URL: " + e.what());
  }
  // An exec plugin runs once now, so that a missing or failing plugin is a
  // start-up error with one line.
  std::shared_ptr<ExecCredentialPlugin> exec;
  KubeConnection conn = connection;
  if (connection.exec && connection.token.empty() && connection.token_file.empty()) {
    exec = std::make_shared<ExecCredentialPlugin>(*connection.exec);
    StatusOr<ExecCredential> first = exec->Get();
    if (!first.ok()) return first.status();
    if (!first->client_cert_pem.empty()) {
      conn.client_cert_pem = first->client_cert_pem;
      conn.client_key_pem = first->client_key_pem;
    }
  }
  if (conn.server.rfind("https://", 0) == 0) {
    boost::asio::ssl::context probe(boost::asio::ssl::context::sslv23);
    boost::system::error_code ec = ConfigureTls(conn, probe);
    if (ec) {
      return InvalidArgumentError("TLS settings of " + connection.source +
                                  " are unusable (CA, client certificate or key): " + ec.message());
    }
  }
  if (!options.clock) options.clock = RealClock::Get();

  auto make_config = [&conn, &exec](std::chrono::milliseconds timeout) {
    http::client::http_client_config config;
    config.set_timeout(timeout);
    config.set_validate_certificates(!conn.insecure_skip_tls_verify);
    KubeConnection tls = conn;  // the callback outlives this call
    config.set_ssl_context_callback([tls, exec](boost::asio::ssl::context& ctx) {
      if (exec && !tls.client_cert_pem.empty()) {
        // A client certificate from the exec plugin: each new connection
        // takes the current one (the plugin re-runs before it expires).
        KubeConnection current = tls;
        StatusOr<ExecCredential> cred = exec->Get();
        if (cred.ok() && !cred->client_cert_pem.empty()) {
          current.client_cert_pem = cred->client_cert_pem;
          current.client_key_pem = cred->client_key_pem;
        }
        ConfigureTls(current, ctx);
        return;
      }
      ConfigureTls(tls, ctx);
    });
    return config;
  };
  std::string ns = connection.namespace_name.empty() ? "default" : connection.namespace_name;
  try {
    auto request_config = make_config(options.request_timeout);
    RestKubeApiOptions copy = options;
    auto watch_config = make_config(Impl::IdleTimeout(options));
    auto impl = std::make_unique<Impl>(conn, std::move(copy), request_config, watch_config, exec);
    return std::unique_ptr<RestKubeApi>(new RestKubeApi(std::move(impl), ns));
  } catch (const std::exception& e) {
    return InvalidArgumentError("cannot set up the Kubernetes client for " + connection.server +
                                ": " + e.what());
  }
}

RestKubeApi::RestKubeApi(std::unique_ptr<Impl> impl, std::string namespace_name)
    : impl_(std::move(impl)), namespace_(std::move(namespace_name)) {}

RestKubeApi::~RestKubeApi() = default;

StatusOr<PodList> RestKubeApi::ListPods(const std::string& label_selector) {
  Cancellation never;
  return ListPods(label_selector, never);
}

StatusOr<PodList> RestKubeApi::ListPods(const std::string& label_selector,
                                        const Cancellation& cancel) {
  StatusOr<std::string> body =
      impl_->Call(http::methods::GET, kube_wire::ListPodsUrl(namespace_, label_selector), "", "",
                  {"list", "pods", "", namespace_}, &cancel);
  if (!body.ok()) return body.status();
  return kube_wire::ParsePodList(*body);
}

Status RestKubeApi::WatchPods(const std::string& label_selector,
                              const std::string& resource_version,
                              const std::function<void(const PodWatchEvent&)>& on_event,
                              const Cancellation& cancel) {
  return impl_->WatchEvents(kube_wire::WatchPodsUrl(namespace_, label_selector, resource_version,
                                                    impl_->WatchTimeoutSeconds()),
                            {"watch", "pods", "", namespace_}, kube_wire::ParseWatchLine, on_event,
                            cancel);
}

StatusOr<Pod> RestKubeApi::PatchPodLabels(const std::string& pod_name, const LabelPatch& labels) {
  StatusOr<std::string> body =
      impl_->Call(http::methods::PATCH,
                  kube_wire::WithStrictValidation(kube_wire::PodsPath(namespace_, pod_name)),
                  kube_wire::PodLabelsPatch(labels), "application/merge-patch+json",
                  {"patch", "pods", pod_name, namespace_});
  if (!body.ok()) return body.status();
  return kube_wire::ParsePod(*body);
}

StatusOr<Service> RestKubeApi::GetService(const std::string& name) {
  StatusOr<std::string> body =
      impl_->Call(http::methods::GET, kube_wire::ServicesPath(namespace_, name), "", "",
                  {"get", "services", name, namespace_});
  if (!body.ok()) return body.status();
  return kube_wire::ParseService(*body);
}

StatusOr<ServiceList> RestKubeApi::ListServices(const Cancellation& cancel) {
  StatusOr<std::string> body = impl_->Call(http::methods::GET, kube_wire::ServicesPath(namespace_),
                                           "", "", {"list", "services", "", namespace_}, &cancel);
  if (!body.ok()) return body.status();
  return kube_wire::ParseServiceList(*body);
}

Status RestKubeApi::WatchServices(const std::string& resource_version,
                                  const std::function<void(const ServiceWatchEvent&)>& on_event,
                                  const Cancellation& cancel) {
  return impl_->WatchEvents(
      kube_wire::WatchServicesUrl(namespace_, resource_version, impl_->WatchTimeoutSeconds()),
      {"watch", "services", "", namespace_}, kube_wire::ParseServiceWatchLine, on_event, cancel);
}

StatusOr<Service> RestKubeApi::PatchService(const std::string& name, const ServicePatch& patch) {
  RequestTarget target{"patch", "services", name, namespace_};
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    Labels current;
    std::string precondition = patch.expected_resource_version;
    if (patch.selector && patch.current_selector && !precondition.empty()) {
      // The caller knows the selector at its precondition (a watch cache):
      // no read; a stale view fails the precondition with 409.
      current = *patch.current_selector;
    } else if (patch.selector) {
      // The nulls for dropped selector keys need the current selector.
      StatusOr<Service> now = GetService(name);
      if (!now.ok()) return now.status();
      if (!precondition.empty() && now->resource_version != precondition) {
        return ConflictError("conflict: " + std::string("cannot patch services \"") + name +
                             "\" in namespace \"" + namespace_ + "\": it is at resourceVersion " +
                             now->resource_version + ", expected " + precondition);
      }
      current = now->selector;
      precondition = now->resource_version;
    }
    StatusOr<std::string> body =
        impl_->Call(http::methods::PATCH,
                    kube_wire::WithStrictValidation(kube_wire::ServicesPath(namespace_, name)),
                    kube_wire::ServiceMergePatch(current, patch, precondition),
                    "application/merge-patch+json", target);
    if (body.ok()) return kube_wire::ParseService(*body);
    // Someone wrote the Service between our GET and PATCH: read it again,
    // unless the caller's own precondition failed.
    bool retry = body.status().IsConflict() && patch.selector &&
                 patch.expected_resource_version.empty() && attempt < kAttempts;
    if (!retry) return body.status();
  }
}

Status RestKubeApi::CreateEvent(const Event& event) {
  const std::string& ns = event.involved_object.namespace_name.empty()
                              ? namespace_
                              : event.involved_object.namespace_name;
  StatusOr<std::string> body = impl_->Call(
      http::methods::POST, kube_wire::WithStrictValidation(kube_wire::EventsPath(ns)),
      kube_wire::EventBody(event, namespace_), "application/json", {"create", "events", "", ns});
  return body.status();
}

Status RestKubeApi::PatchEventSeries(const Event& event) {
  const std::string& ns = event.involved_object.namespace_name.empty()
                              ? namespace_
                              : event.involved_object.namespace_name;
  StatusOr<std::string> body = impl_->Call(
      http::methods::PATCH, kube_wire::WithStrictValidation(kube_wire::EventsPath(ns, event.name)),
      kube_wire::EventSeriesPatch(event), "application/merge-patch+json",
      {"patch", "events", event.name, ns});
  return body.status();
}

}  // namespace amsha
