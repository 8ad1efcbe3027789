// The Service side of the Store: which pods each Service's selector matches
// (recorded for tests at every change) and which pod a forwarded connection
// goes to. Split from store.cc to keep each file readable; same lock.
#include <algorithm>

#include "standin/store.h"

namespace amsha::standin {

namespace {

// Inserts `name` into the sorted `names` (the store's order), or removes it.
void SetMember(std::vector<std::string>* names, const std::string& name, bool member) {
  auto it = std::lower_bound(names->begin(), names->end(), name);
  bool present = it != names->end() && *it == name;
  if (member && !present) names->insert(it, name);
  if (!member && present) names->erase(it);
}

}  // namespace

void Store::RecordSelectorsLocked(const std::string& resource, const std::string& ns,
                                  const std::string& name) {
  auto full = [&](const std::string& service, const Json& svc) {
    SelectorRecordEntry entry;
    entry.ns = ns;
    entry.service = service;
    entry.selector = StringMap(Field(svc, {"spec", "selector"}));
    LabelSelector selector = LabelSelector::FromMap(entry.selector);
    for (auto it = objects_.lower_bound(Key{"pods", ns, ""});
         it != objects_.end() && std::get<0>(it->first) == "pods" && std::get<1>(it->first) == ns;
         ++it) {
      const Json& pod = it->second;
      if (!selector.Matches(StringMap(Field(pod, {"metadata", "labels"})))) continue;
      entry.matched.push_back(std::get<2>(it->first));
      if (PodReady(pod) && !Terminating(pod)) entry.matched_ready.push_back(std::get<2>(it->first));
    }
    PushSelectorEntryLocked(std::move(entry));
  };
  if (resource == "services") {
    auto svc = objects_.find(Key{"services", ns, name});
    if (svc != objects_.end()) full(name, svc->second);
    return;
  }
  // A pod changed: only its own membership in each Service can have moved.
  auto pod = objects_.find(Key{"pods", ns, name});
  LabelMap labels;
  bool ready = false;
  if (pod != objects_.end()) {
    labels = StringMap(Field(pod->second, {"metadata", "labels"}));
    ready = PodReady(pod->second) && !Terminating(pod->second);
  }
  for (auto it = objects_.lower_bound(Key{"services", ns, ""});
       it != objects_.end() && std::get<0>(it->first) == "services" && std::get<1>(it->first) == ns;
       ++it) {
    const std::string& service = std::get<2>(it->first);
    auto last = last_selector_state_.find({ns, service});
    if (last == last_selector_state_.end()) {
      full(service, it->second);
      continue;
    }
    SelectorRecordEntry entry = last->second;
    entry.selector = StringMap(Field(it->second, {"spec", "selector"}));
    bool matches = pod != objects_.end() && LabelSelector::FromMap(entry.selector).Matches(labels);
    SetMember(&entry.matched, name, matches);
    SetMember(&entry.matched_ready, name, matches && ready);
    PushSelectorEntryLocked(std::move(entry));
  }
}

void Store::PushSelectorEntryLocked(SelectorRecordEntry entry) {
  auto& last = last_selector_state_[{entry.ns, entry.service}];
  if (!last.service.empty() && last.selector == entry.selector && last.matched == entry.matched &&
      last.matched_ready == entry.matched_ready) {
    return;
  }
  entry.ts_ms = NowUnixMs();
  entry.mono_ns = NowMonoNs();
  last = entry;
  selector_record_.push_back(std::move(entry));
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
