// Pure builders of what the cluster should look like for a given leader:
// the labels the controller owns on each pod, and the Service's selector and
// annotations. The reconciler compares these with what it reads and patches
// only the difference (CloudNativePG's pattern). Pure; thread-safe.
//
// The Service selects {role: leader, pod: <leader's identity value>}: naming
// the pod's own identity label means a stale `leader` label left on an old
// pod can never make the Service select it, so at no instant can two pods be
// selected. With no leader it selects pod=None, a value no pod can carry
// (identity values are lowercase pod names or lowercase hex).
#ifndef AMS_HA_ROUTING_DESIRED_STATE_H_
#define AMS_HA_ROUTING_DESIRED_STATE_H_

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "kube/kube_types.h"

namespace amsha {

inline constexpr char kNoLeaderValue[] = "None";
inline constexpr char kLeaderAnnotation[] = "amoro.apache.org/ha-leader";
inline constexpr char kNodeIdAnnotation[] = "amoro.apache.org/ha-leader-node-id";
inline constexpr char kTransitionAnnotation[] = "amoro.apache.org/ha-last-transition";

// The label changes that make `pod` carry its role and identity; empty when
// it already does.
LabelPatch PodLabelPatch(const Pod& pod, const LabelsConfig& labels, bool is_leader);

Labels DesiredSelector(const LabelsConfig& labels, const Pod* leader);

// Annotation changes for the Service. `transition_time` (RFC 3339) is
// written only when the leader annotation changes.
LabelPatch ServiceAnnotationPatch(const Service& service, const Pod* leader,
                                  const std::string& node_id, const std::string& transition_time);

// Names of the pods (among `pods`) that `selector` selects.
std::vector<std::string> SelectedPods(const Labels& selector, const std::vector<Pod>& pods);

// Pairs of pods whose identity label values collide (a 64-bit hash
// collision of long names); the reconciler refuses to route to them.
std::vector<std::string> IdentityCollisions(const std::vector<Pod>& pods);

}  // namespace amsha

#endif  // AMS_HA_ROUTING_DESIRED_STATE_H_
