#include "standin/api_error.h"

namespace amsha::standin {
namespace {

ApiError Make(int code, std::string reason, std::string message, Json details = Json::null()) {
  ApiError e;
  e.code = code;
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.details = std::move(details);
  return e;
}

Json NameKind(const std::string& name, const std::string& kind) {
  Json d = Json::object();
  if (!name.empty()) d["name"] = Json::string(name);
  d["kind"] = Json::string(kind);
  return d;
}

}  // namespace

Json ApiError::ToStatus() const {
  Json s = Json::object();
  s["kind"] = Json::string("Status");
  s["apiVersion"] = Json::string("v1");
  s["metadata"] = Json::object();
  s["status"] = Json::string(ok() ? "Success" : "Failure");
  if (!message.empty()) s["message"] = Json::string(message);
  if (!reason.empty()) s["reason"] = Json::string(reason);
  if (!details.is_null()) s["details"] = details;
  s["code"] = Json::number(ok() ? 200 : code);
  return s;
}

ApiError Ok() { return ApiError(); }

ApiError NotFound(const std::string& resource, const std::string& name) {
  return Make(404, "NotFound", resource + " \"" + name + "\" not found", NameKind(name, resource));
}

ApiError AlreadyExists(const std::string& resource, const std::string& name) {
  return Make(409, "AlreadyExists", resource + " \"" + name + "\" already exists",
              NameKind(name, resource));
}

ApiError Conflict(const std::string& resource, const std::string& name) {
  return Make(409, "Conflict",
              "Operation cannot be fulfilled on " + resource + " \"" + name +
                  "\": the object has been modified; please apply your changes to the latest "
                  "version and try again",
              NameKind(name, resource));
}

ApiError BadRequest(const std::string& message) { return Make(400, "BadRequest", message); }

ApiError Invalid(const std::string& kind, const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& field_errors) {
  std::string joined;
  Json causes = Json::array();
  size_t i = 0;
  for (const auto& [field, what] : field_errors) {
    if (!joined.empty()) joined += ", ";
    joined += field + ": " + what;
    Json c = Json::object();
    c["reason"] =
        Json::string(what.rfind("Required", 0) == 0 ? "FieldValueRequired" : "FieldValueInvalid");
    c["message"] = Json::string(what);
    c["field"] = Json::string(field);
    causes[i++] = c;
  }
  if (field_errors.size() > 1) joined = "[" + joined + "]";
  Json details = NameKind(name, kind);
  details["causes"] = causes;
  return Make(422, "Invalid", kind + " \"" + name + "\" is invalid: " + joined, details);
}

ApiError UnsupportedMediaType(const std::string& content_type) {
  return Make(415, "UnsupportedMediaType",
              "the body of the request was in an unknown format - accepted media types include: "
              "application/json-patch+json, application/merge-patch+json, "
              "application/strategic-merge-patch+json (got \"" +
                  content_type + "\")");
}

ApiError Unauthorized() { return Make(401, "Unauthorized", "Unauthorized"); }

ApiError Forbidden(const std::string& user, const std::string& verb, const std::string& resource,
                   const std::string& name, const std::string& ns) {
  std::string subject = name.empty() ? resource : resource + " \"" + name + "\"";
  std::string scope = ns.empty() ? "at the cluster scope" : "in the namespace \"" + ns + "\"";
  return Make(403, "Forbidden",
              subject + " is forbidden: User \"" + user + "\" cannot " + verb + " resource \"" +
                  resource + "\" in API group \"\" " + scope,
              NameKind(name, resource));
}

ApiError Expired(const std::string& message) { return Make(410, "Expired", message); }

ApiError MethodNotAllowed() {
  return Make(405, "MethodNotAllowed",
              "the server does not allow this method on the requested resource");
}

ApiError Injected(int code, const std::string& reason, int retry_after_seconds) {
  std::string message = code == 429   ? "Too many requests, please try again later."
                        : code >= 500 ? "Internal error occurred: injected fault"
                                      : "injected fault";
  ApiError e = Make(code, reason, message);
  if (retry_after_seconds > 0) {
    e.retry_after_seconds = retry_after_seconds;
    e.details = Json::object();
    e.details["retryAfterSeconds"] = Json::number(retry_after_seconds);
  }
  return e;
}

}  // namespace amsha::standin
