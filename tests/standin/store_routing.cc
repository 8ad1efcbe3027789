// The Service side of the Store: which pods each Service's selector matches
// (recorded for tests at every change) and which pod a forwarded connection
// goes to. Split from store.cc to keep each file readable; same lock.
#include <algorithm>

#include "standin/store.h"

namespace amsha::standin {

void Store::RecordSelectorsLocked(const std::string& resource, const std::string& ns,
                                  const std::string& name) {
  // A pod write can change only the Services that matched the pod before or
  // match it now; a Service write only that Service. Objects are keyed
  // (resource, ns, name), so one namespace's pods or Services are a range.
  const Json* pod = nullptr;
  LabelMap pod_labels;
  if (resource == "pods") {
    auto it = objects_.find(Key{"pods", ns, name});
    if (it != objects_.end()) {
      pod = &it->second;
      pod_labels = StringMap(Field(*pod, {"metadata", "labels"}));
    }
  }
  for (auto sit = objects_.lower_bound(Key{"services", ns, ""});
       sit != objects_.end() && std::get<0>(sit->first) == "services" &&
       std::get<1>(sit->first) == ns;
       ++sit) {
    const std::string& service = std::get<2>(sit->first);
    if (resource == "services" && service != name) continue;
    SelectorRecordEntry entry;
    entry.ns = ns;
    entry.service = service;
    entry.selector = StringMap(Field(sit->second, {"spec", "selector"}));
    LabelSelector selector = LabelSelector::FromMap(entry.selector);
    auto& last = last_selector_state_[{ns, service}];
    if (resource == "pods" && !last.service.empty()) {
      bool matched_before =
          std::find(last.matched.begin(), last.matched.end(), name) != last.matched.end();
      bool matches_now = pod != nullptr && selector.Matches(pod_labels);
      if (!matched_before && !matches_now) continue;
    }
    for (auto pit = objects_.lower_bound(Key{"pods", ns, ""});
         pit != objects_.end() && std::get<0>(pit->first) == "pods" &&
         std::get<1>(pit->first) == ns;
         ++pit) {
      const Json& p = pit->second;
      if (!selector.Matches(StringMap(Field(p, {"metadata", "labels"})))) continue;
      entry.matched.push_back(std::get<2>(pit->first));
      if (PodReady(p) && !Terminating(p)) entry.matched_ready.push_back(std::get<2>(pit->first));
    }
    if (!last.service.empty() && last.selector == entry.selector && last.matched == entry.matched &&
        last.matched_ready == entry.matched_ready) {
      continue;
    }
    entry.ts_ms = NowUnixMs();
    entry.mono_ns = NowMonoNs();
    last = entry;
    selector_record_.push_back(entry);
  }
}

std::vector<SelectorRecordEntry> Store::SelectorRecord() {
  std::lock_guard<std::mutex> lock(mu_);
  return selector_record_;
}

std::vector<ServicePortInfo> Store::ServicePorts() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ServicePortInfo> out;
  for (const auto& [key, svc] : objects_) {
    if (std::get<0>(key) != "services") continue;
    Json ports = Field(svc, {"spec", "ports"});
    if (!ports.is_array()) continue;
    for (const auto& p : ports.as_array()) {
      Json port = Field(p, {"port"});
      if (!port.is_integer()) continue;
      out.push_back({std::get<1>(key), std::get<2>(key), StringField(p, {"name"}),
                     port.as_integer(), Field(p, {"targetPort"})});
    }
  }
  return out;
}

std::optional<Backend> Store::PickBackend(const std::string& ns, const std::string& service,
                                          int port) {
  std::lock_guard<std::mutex> lock(mu_);
  auto svc = objects_.find(Key{"services", ns, service});
  if (svc == objects_.end()) return std::nullopt;
  Json target;
  Json ports = Field(svc->second, {"spec", "ports"});
  if (ports.is_array()) {
    for (const auto& p : ports.as_array()) {
      Json n = Field(p, {"port"});
      if (n.is_integer() && n.as_integer() == port) target = Field(p, {"targetPort"});
    }
  }
  if (target.is_null()) target = Json::number(port);
  LabelSelector selector =
      LabelSelector::FromMap(StringMap(Field(svc->second, {"spec", "selector"})));
  std::vector<Backend> serving, terminating;
  for (const auto& [key, pod] : objects_) {
    if (std::get<0>(key) != "pods" || std::get<1>(key) != ns) continue;
    if (!PodReady(pod) || !selector.Matches(StringMap(Field(pod, {"metadata", "labels"})))) {
      continue;
    }
    Backend b{std::get<2>(key), StringField(pod, {"status", "podIP"}), 0};
    if (target.is_integer()) {
      b.port = target.as_integer();
    } else if (target.is_string()) {
      Json containers = Field(pod, {"spec", "containers"});
      size_t n = containers.is_array() ? containers.size() : 0;
      for (size_t i = 0; i < n; ++i) {
        Json cports = Field(containers.at(i), {"ports"});
        if (!cports.is_array()) continue;
        for (const auto& cp : cports.as_array()) {
          Json number = Field(cp, {"containerPort"});
          if (StringField(cp, {"name"}) == target.as_string() && number.is_integer()) {
            b.port = number.as_integer();
          }
        }
      }
    }
    if (b.port == 0 || b.ip.empty()) continue;
    (Terminating(pod) ? terminating : serving).push_back(b);
  }
  std::vector<Backend>& pool = serving.empty() ? terminating : serving;
  if (pool.empty()) return std::nullopt;
  uint64_t& rr = round_robin_[{ns, service}];
  return pool[rr++ % pool.size()];
}

}  // namespace amsha::standin
