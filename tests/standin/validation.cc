#include "standin/validation.h"

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

void CheckEvent(const Json& obj, FieldErrors* errors) {
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
    std::string ns = StringField(involved, {"namespace"});
    if (!ns.empty() && ns != StringField(obj, {"metadata", "namespace"})) {
      errors->push_back({"involvedObject.namespace",
                         "Invalid value: \"" + ns + "\": does not match event.namespace"});
    }
  }
  if (StringField(obj, {"reason"}).empty()) errors->push_back({"reason", "Required value"});
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
  CheckLabelMap(Field(obj, {"metadata", "labels"}), "metadata.labels", true, &errors);
  CheckLabelMap(Field(obj, {"metadata", "annotations"}), "metadata.annotations", false, &errors);
  if (resource == "services") {
    CheckLabelMap(Field(obj, {"spec", "selector"}), "spec.selector", true, &errors);
  }
  if (resource == "events") CheckEvent(obj, &errors);
  if (errors.empty()) return Ok();
  return Invalid(KindOf(resource), name, errors);
}

}  // namespace amsha::standin
