#include "standin/table.h"

#include <ctime>

namespace amsha::standin {
namespace {

struct Column {
  const char* name;
  const char* type;
  int priority;  // 1: only with -o wide
};

int64_t SecondsSince(const std::string& rfc3339) {
  std::tm tm{};
  if (rfc3339.empty() || !strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return 0;
  return static_cast<int64_t>(std::time(nullptr) - timegm(&tm));
}

std::string Age(const Json& obj) {
  return HumanAge(SecondsSince(StringField(obj, {"metadata", "creationTimestamp"})));
}

std::string OrNone(const std::string& s) { return s.empty() ? "<none>" : s; }

std::vector<Column> ColumnsOf(const std::string& resource) {
  if (resource == "pods") {
    return {{"Name", "string", 0},     {"Ready", "string", 0}, {"Status", "string", 0},
            {"Restarts", "string", 0}, {"Age", "string", 0},   {"IP", "string", 1},
            {"Node", "string", 1}};
  }
  if (resource == "services") {
    return {{"Name", "string", 0},        {"Type", "string", 0},    {"Cluster-IP", "string", 0},
            {"External-IP", "string", 0}, {"Port(s)", "string", 0}, {"Age", "string", 0},
            {"Selector", "string", 1}};
  }
  if (resource == "events") {
    return {{"Last Seen", "string", 0},
            {"Type", "string", 0},
            {"Reason", "string", 0},
            {"Object", "string", 0},
            {"Message", "string", 0}};
  }
  return {{"Name", "string", 0}, {"Age", "string", 0}};
}

std::vector<std::string> PodCells(const Json& pod) {
  Json statuses = Field(pod, {"status", "containerStatuses"});
  size_t total = 0, ready = 0;
  int64_t restarts = 0;
  if (statuses.is_array()) {
    for (const auto& s : statuses.as_array()) {
      ++total;
      if (Field(s, {"ready"}).is_boolean() && s.at("ready").as_bool()) ++ready;
      Json r = Field(s, {"restartCount"});
      if (r.is_integer()) restarts += r.as_integer();
    }
  }
  std::string status = Terminating(pod) ? "Terminating" : StringField(pod, {"status", "phase"});
  return {StringField(pod, {"metadata", "name"}),
          std::to_string(ready) + "/" + std::to_string(total),
          status,
          std::to_string(restarts),
          Age(pod),
          OrNone(StringField(pod, {"status", "podIP"})),
          OrNone(StringField(pod, {"spec", "nodeName"}))};
}

std::vector<std::string> ServiceCells(const Json& svc) {
  std::string ports;
  Json list = Field(svc, {"spec", "ports"});
  if (list.is_array()) {
    for (const auto& p : list.as_array()) {
      if (!ports.empty()) ports += ",";
      Json port = Field(p, {"port"});
      ports += (port.is_null() ? "" : port.serialize()) + "/" + StringField(p, {"protocol"});
    }
  }
  std::string selector;
  for (const auto& [k, v] : StringMap(Field(svc, {"spec", "selector"}))) {
    selector += (selector.empty() ? "" : ",") + k + "=" + v;
  }
  return {StringField(svc, {"metadata", "name"}),
          StringField(svc, {"spec", "type"}),
          OrNone(StringField(svc, {"spec", "clusterIP"})),
          "<none>",
          OrNone(ports),
          Age(svc),
          OrNone(selector)};
}

std::vector<std::string> EventCells(const Json& ev) {
  std::string last = StringField(ev, {"lastTimestamp"});
  if (last.empty()) last = StringField(ev, {"metadata", "creationTimestamp"});
  std::string kind = StringField(ev, {"involvedObject", "kind"});
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {HumanAge(SecondsSince(last)), StringField(ev, {"type"}), StringField(ev, {"reason"}),
          kind + "/" + StringField(ev, {"involvedObject", "name"}), StringField(ev, {"message"})};
}

}  // namespace

bool WantsTable(const std::string& accept) {
  return accept.find("as=Table") != std::string::npos &&
         accept.find("g=meta.k8s.io") != std::string::npos &&
         accept.find("v=v1;") != std::string::npos;
}

std::string HumanAge(int64_t s) {
  if (s < 0) s = 0;
  int64_t m = s / 60, h = s / 3600, d = s / 86400;
  if (s < 120) return std::to_string(s) + "s";
  if (m < 10) return std::to_string(m) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  if (m < 180) return std::to_string(m) + "m";
  if (h < 8) return std::to_string(h) + "h" + (m % 60 ? std::to_string(m % 60) + "m" : "");
  if (h < 48) return std::to_string(h) + "h";
  if (d < 8) return std::to_string(d) + "d" + (h % 24 ? std::to_string(h % 24) + "h" : "");
  return std::to_string(d) + "d";
}

Json ToTable(const std::string& resource, const std::vector<Json>& items, const std::string& rv,
             const std::string& include_object) {
  Json columns = Json::array();
  size_t i = 0;
  for (const auto& c : ColumnsOf(resource)) {
    Json col = Json::object();
    col["name"] = Json::string(c.name);
    col["type"] = Json::string(c.type);
    col["format"] = Json::string(i == 0 && std::string(c.name) == "Name" ? "name" : "");
    col["description"] = Json::string("");
    col["priority"] = Json::number(c.priority);
    columns[i++] = col;
  }
  Json rows = Json::array();
  i = 0;
  for (const auto& item : items) {
    std::vector<std::string> cells =
        resource == "pods"       ? PodCells(item)
        : resource == "services" ? ServiceCells(item)
        : resource == "events"
            ? EventCells(item)
            : std::vector<std::string>{StringField(item, {"metadata", "name"}), Age(item)};
    Json row = Json::object();
    row["cells"] = Json::array();
    for (size_t c = 0; c < cells.size(); ++c) row["cells"][c] = Json::string(cells[c]);
    if (include_object == "Object") {
      row["object"] = item;
    } else if (include_object != "None") {
      Json partial = Json::object();
      partial["kind"] = Json::string("PartialObjectMetadata");
      partial["apiVersion"] = Json::string("meta.k8s.io/v1");
      partial["metadata"] = Field(item, {"metadata"});
      row["object"] = partial;
    }
    rows[i++] = row;
  }
  Json table = Json::object();
  table["kind"] = Json::string("Table");
  table["apiVersion"] = Json::string("meta.k8s.io/v1");
  table["metadata"] = Json::object();
  table["metadata"]["resourceVersion"] = Json::string(rv);
  table["columnDefinitions"] = columns;
  table["rows"] = rows;
  return table;
}

}  // namespace amsha::standin
