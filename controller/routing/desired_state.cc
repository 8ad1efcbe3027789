#include "routing/desired_state.h"

#include <map>

#include "election/pod_identity.h"
#include "kube/label_selector.h"

namespace amsha {

LabelPatch PodLabelPatch(const Pod& pod, const LabelsConfig& labels, bool is_leader) {
  LabelPatch patch;
  auto want = [&](const std::string& key, const std::string& value) {
    auto it = pod.labels.find(key);
    if (it == pod.labels.end() || it->second != value) patch[key] = value;
  };
  want(labels.role, is_leader ? labels.leader : labels.follower);
  want(labels.pod, PodIdentityLabelValue(pod.name));
  return patch;
}

Labels DesiredSelector(const LabelsConfig& labels, const Pod* leader) {
  return {{labels.role, labels.leader},
          {labels.pod, leader ? PodIdentityLabelValue(leader->name) : kNoLeaderValue}};
}

LabelPatch ServiceAnnotationPatch(const Service& service, const Pod* leader,
                                  const std::string& node_id, const std::string& transition_time) {
  LabelPatch patch;
  auto current = [&](const char* key) -> std::optional<std::string> {
    auto it = service.annotations.find(key);
    if (it == service.annotations.end()) return std::nullopt;
    return it->second;
  };
  std::optional<std::string> want_leader;
  std::optional<std::string> want_node;
  if (leader) {
    want_leader = leader->name;
    want_node = node_id;
  }
  if (current(kLeaderAnnotation) != want_leader) {
    patch[kLeaderAnnotation] = want_leader;
    if (!transition_time.empty()) patch[kTransitionAnnotation] = transition_time;
  }
  if (current(kNodeIdAnnotation) != want_node) patch[kNodeIdAnnotation] = want_node;
  return patch;
}

std::vector<std::string> SelectedPods(const Labels& selector, const std::vector<Pod>& pods) {
  std::vector<std::string> out;
  if (selector.empty()) return out;  // a Service without selector selects no pod
  LabelSelector sel = LabelSelector::FromMap(selector);
  for (const Pod& p : pods) {
    if (sel.Matches(p.labels)) out.push_back(p.name);
  }
  return out;
}

std::vector<std::string> IdentityCollisions(const std::vector<Pod>& pods) {
  std::map<std::string, std::string> by_value;
  std::vector<std::string> out;
  for (const Pod& p : pods) {
    auto [it, inserted] = by_value.emplace(PodIdentityLabelValue(p.name), p.name);
    if (!inserted) {
      out.push_back(it->second);
      out.push_back(p.name);
    }
  }
  return out;
}

}  // namespace amsha
