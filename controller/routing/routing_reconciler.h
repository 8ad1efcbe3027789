// RoutingReconciler: makes one AMS cluster's pods and Service agree with the
// elected leader, level-based: it reads what is there, compares it with the
// desired state (desired_state.h) and patches only the difference.
//
// Order of writes, chosen so that the Service never selects two pods and the
// gap with none is as short as possible:
//   1. the new leader's labels (role=leader and its identity label);
//   2. the Service selector {role: leader, pod: <leader identity>} in one
//      patch (guarded by the resourceVersion just read) with annotations;
//   3. every other pod's labels (role=follower).
// A failed write does not stop the later ones (a leader that cannot be
// labelled still must not keep the old pod routed); the first error is
// returned so that the loop retries with backoff. A 409 on the Service
// patch is returned as kConflict and never retried here: the loop re-reads
// the lease and decides again rather than re-applying a stale decision.
// Thread-compatible: one cluster loop drives it.
#ifndef AMS_HA_ROUTING_ROUTING_RECONCILER_H_
#define AMS_HA_ROUTING_ROUTING_RECONCILER_H_

#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "kube/kube_api.h"

namespace amsha {

struct RoutingResult {
  Status status;  // the first failed write, OK if none
  bool selector_changed = false;
  int patches = 0;  // writes made
  // The pods the Service selects after this pass (by the controller's view).
  std::vector<std::string> routed;
};

class RoutingReconciler {
 public:
  RoutingReconciler(ClusterConfig cluster, LabelsConfig labels, KubeApi* api);

  // `leader`: the pod to route to, or nullptr to route to none. `node_id`
  // and `transition_time` (RFC 3339) go into the Service's annotations.
  RoutingResult Reconcile(const Pod* leader, const std::string& node_id,
                          const std::vector<Pod>& pods, const std::string& transition_time);

 private:
  Status PatchService(const Pod* leader, const std::string& node_id,
                      const std::string& transition_time, RoutingResult* result);

  ClusterConfig cluster_;
  LabelsConfig labels_;
  KubeApi* api_;
};

}  // namespace amsha

#endif  // AMS_HA_ROUTING_ROUTING_RECONCILER_H_
