#include "standin/validation.h"

#include <atomic>
#include <utility>
#include <vector>

#include "standin/label_selector.h"

namespace amsha::standin {
namespace {

using FieldErrors = std::vector<std::pair<std::string, std::string>>;

bool IsDnsSubdomainName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  auto ok_end = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok_end(s.front()) || !ok_end(s.back())) return false;
  for (char c : s) {
    if (!ok_end(c) && c != '-' && c != '.') return false;
  }
  return true;
}

void CheckLabelMap(const Json& map, const std::string& field, bool check_values,
                   FieldErrors* errors) {
  if (map.is_null()) return;
  if (!map.is_object()) {
    errors->push_back({field, "Invalid value: must be a map of strings"});
    return;
  }
  for (const auto& kv : map.as_object()) {
    if (!IsValidLabelKey(kv.first)) {
      errors->push_back({field, "Invalid value: \"" + kv.first +
                                    "\": name part must consist of alphanumeric characters, "
                                    "'-', '_' or '.', and must start and end with an "
                                    "alphanumeric character"});
    }
    if (!kv.second.is_string()) {
      errors->push_back({field + "[" + kv.first + "]", "Invalid value: must be a string"});
    } else if (check_values && !IsValidLabelValue(kv.second.as_string())) {
      errors->push_back({field + "[" + kv.first + "]",
                         "Invalid value: \"" + kv.second.as_string() +
                             "\": a valid label must be an empty string or consist of "
                             "alphanumeric characters, '-', '_' or '.', and must start and end "
                             "with an alphanumeric character (at most 63 characters)"});
    }
  }
}

std::string Quoted(const std::string& v) { return "\"" + v + "\""; }

// legacyValidateEvent (pkg/apis/core/validation/events.go), which every
// core/v1 Event create and update passes. Field names are the internal
// type's: reportingController is v1's reportingComponent.
void CheckEvent(const Json& obj, FieldErrors* errors) {
  const std::string ns = StringField(obj, {"metadata", "namespace"});
  const std::string involved_ns = StringField(obj, {"involvedObject", "namespace"});
  const std::string mismatch =
      "Invalid value: " + Quoted(involved_ns) + ": does not match event.namespace";
  if (StringField(obj, {"eventTime"}).empty()) {
    // An old-style Event: the namespaces must agree.
    if (involved_ns.empty() ? (!ns.empty() && ns != "default") : ns != involved_ns) {
      errors->push_back({"involvedObject.namespace", mismatch});
    }
  } else {
    // A "new" Event (eventTime set) must say who reported it and what was
    // done, within the length limits.
    if (involved_ns.empty() && ns != "default" && ns != "kube-system") {
      errors->push_back({"involvedObject.namespace", mismatch});
    }
    std::string controller = StringField(obj, {"reportingComponent"});
    if (controller.empty()) errors->push_back({"reportingController", "Required value"});
    // IsQualifiedName, the rule for label keys.
    if (!IsValidLabelKey(controller)) {
      errors->push_back(
          {"reportingController",
           "Invalid value: " + Quoted(controller) +
               ": name part must consist of alphanumeric characters, '-', '_' or '.', and must "
               "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
               "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
               "[A-Za-z0-9]')"});
    }
    std::string instance = StringField(obj, {"reportingInstance"});
    if (instance.empty()) errors->push_back({"reportingInstance", "Required value"});
    if (instance.size() > 128) {
      errors->push_back(
          {"reportingInstance", "Invalid value: \"\": can have at most 128 characters"});
    }
    std::string action = StringField(obj, {"action"});
    if (action.empty()) errors->push_back({"action", "Required value"});
    if (action.size() > 128) {
      errors->push_back({"action", "Invalid value: \"\": can have at most 128 characters"});
    }
    std::string reason = StringField(obj, {"reason"});
    if (reason.empty()) errors->push_back({"reason", "Required value"});
    if (reason.size() > 128) {
      errors->push_back({"reason", "Invalid value: \"\": can have at most 128 characters"});
    }
    if (StringField(obj, {"message"}).size() > 1024) {
      errors->push_back({"message", "Invalid value: \"\": can have at most 1024 characters"});
    }
  }
  // Stricter than the core/v1 API, on purpose (the controller must never
  // send these): an involved object without kind or name is useless, an
  // old-style Event without a reason is unreadable, and a type other than
  // Normal or Warning is what events.k8s.io's validation (ValidateEventCreate,
  // same file) refuses.
  Json involved = Field(obj, {"involvedObject"});
  if (!involved.is_object()) {
    errors->push_back({"involvedObject", "Required value"});
  } else {
    if (StringField(involved, {"kind"}).empty()) {
      errors->push_back({"involvedObject.kind", "Required value"});
    }
    if (StringField(involved, {"name"}).empty()) {
      errors->push_back({"involvedObject.name", "Required value"});
    }
  }
  if (StringField(obj, {"eventTime"}).empty() && StringField(obj, {"reason"}).empty()) {
    errors->push_back({"reason", "Required value"});
  }
  std::string type = StringField(obj, {"type"});
  if (type != "Normal" && type != "Warning") {
    errors->push_back(
        {"type", "Unsupported value: \"" + type + "\": supported values: \"Normal\", \"Warning\""});
  }
}

}  // namespace

std::string KindOf(const std::string& resource) {
  if (resource == "pods") return "Pod";
  if (resource == "services") return "Service";
  if (resource == "events") return "Event";
  return resource;
}

void ApplyDefaults(const std::string& resource, Json* obj) {
  if (resource == "services") {
    Json& spec = MutableField(*obj, {"spec"});
    if (!spec.has_field("type")) spec["type"] = Json::string("ClusterIP");
    if (!spec.has_field("sessionAffinity")) spec["sessionAffinity"] = Json::string("None");
    if (spec.has_field("ports") && spec.at("ports").is_array()) {
      for (auto& p : spec.at("ports").as_array()) {
        if (!p.is_object()) continue;
        if (!p.has_field("protocol")) p["protocol"] = Json::string("TCP");
        if (!p.has_field("targetPort") && p.has_field("port")) {
          Json port = p.at("port");  // a copy: inserting may move the member
          p["targetPort"] = port;
        }
      }
    }
    // The cluster IP allocator's part (pkg/registry/core/service/ipallocator):
    // every ClusterIP, NodePort or LoadBalancer Service gets one address.
    std::string type = StringField(spec, {"type"});
    std::string ip = StringField(spec, {"clusterIP"});
    if (ip.empty() && type != "ExternalName") {
      static std::atomic<unsigned> next{10};
      unsigned n = next++;
      ip = "10.96." + std::to_string((n / 250) % 250) + "." + std::to_string(n % 250 + 1);
      spec["clusterIP"] = Json::string(ip);
    }
    if (!ip.empty() && !spec.has_field("clusterIPs")) {
      spec["clusterIPs"] = Json::array();
      spec["clusterIPs"][0] = Json::string(ip);
    }
    if (!spec.has_field("ipFamilies")) {
      spec["ipFamilies"] = Json::array();
      spec["ipFamilies"][0] = Json::string("IPv4");
    }
    if (!spec.has_field("ipFamilyPolicy")) spec["ipFamilyPolicy"] = Json::string("SingleStack");
    if (!spec.has_field("internalTrafficPolicy")) {
      spec["internalTrafficPolicy"] = Json::string("Cluster");
    }
  } else if (resource == "events") {
    std::string now = NowRfc3339();
    if (!obj->has_field("count")) (*obj)["count"] = Json::number(1);
    if (!obj->has_field("firstTimestamp")) (*obj)["firstTimestamp"] = Json::string(now);
    if (!obj->has_field("lastTimestamp")) (*obj)["lastTimestamp"] = Json::string(now);
  }
}

ApiError ValidateObject(const std::string& resource, const Json& obj) {
  FieldErrors errors;
  std::string name = StringField(obj, {"metadata", "name"});
  if (name.empty()) {
    errors.push_back({"metadata.name", "Required value: name or generateName is required"});
  } else if (!IsDnsSubdomainName(name)) {
    errors.push_back({"metadata.name", "Invalid value: \"" + name +
                                           "\": a lowercase RFC 1123 subdomain must consist of "
                                           "lower case alphanumeric characters, '-' or '.'"});
  }
  // ValidateObjectMeta (staging/src/k8s.io/apimachinery/pkg/api/validation/
  // objectmeta.go): label keys are qualified names and values label values
  // (metav1validation.ValidateLabels), annotation keys qualified names.
  CheckLabelMap(Field(obj, {"metadata", "labels"}), "metadata.labels", true, &errors);
  CheckLabelMap(Field(obj, {"metadata", "annotations"}), "metadata.annotations", false, &errors);
  if (resource == "services") {
    // ValidateService (pkg/apis/core/validation/validation.go): the selector
    // is validated as labels (ValidateLabels on spec.selector).
    CheckLabelMap(Field(obj, {"spec", "selector"}), "spec.selector", true, &errors);
  }
  if (resource == "events") CheckEvent(obj, &errors);
  if (errors.empty()) return Ok();
  return Invalid(KindOf(resource), name, errors);
}

}  // namespace amsha::standin
