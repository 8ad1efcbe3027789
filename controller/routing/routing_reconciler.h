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
//
// Reading the Service: from a ServiceWatcher (service_watcher.h) when one is
// given, synced and holds the Service, so that a pass with nothing to change
// sends no request at all; otherwise (no cache, not synced yet, or not in
// it) by a GET, as without a cache. The patch is computed from the object
// read and carries its resourceVersion (and, for RestKubeApi, its selector,
// so the patch needs no second read); the answer goes back into the cache
// at once (ServiceWatcher::Observe). After a 409 the cached version is
// known stale: the next pass reads the Service with a GET (and records it)
// unless the watch has delivered a newer version by then.
// Thread-compatible: one cluster loop drives it; the ServiceWatcher is
// shared and thread-safe.
#ifndef AMS_HA_ROUTING_ROUTING_RECONCILER_H_
#define AMS_HA_ROUTING_ROUTING_RECONCILER_H_

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "kube/kube_api.h"
#include "kube/service_watcher.h"

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
  // `services` (may be null: every pass GETs the Service) must outlive the
  // reconciler; it may be shared by the reconcilers of many clusters.
  RoutingReconciler(ClusterConfig cluster, LabelsConfig labels, KubeApi* api,
                    ServiceWatcher* services = nullptr);

  // The same as the constructor argument, for callers that build the
  // watcher later. Call between passes.
  void SetServiceCache(ServiceWatcher* services) { services_ = services; }

  // `leader`: the pod to route to, or nullptr to route to none. `node_id`
  // and `transition_time` (RFC 3339) go into the Service's annotations.
  RoutingResult Reconcile(const Pod* leader, const std::string& node_id,
                          const std::vector<Pod>& pods, const std::string& transition_time);

  // The Service as last read or written (its uid and resourceVersion name
  // it in Events); nullopt before the first successful read.
  const std::optional<Service>& LastService() const { return last_service_; }

 private:
  Status PatchService(const Pod* leader, const std::string& node_id,
                      const std::string& transition_time, RoutingResult* result);
  // The Service as the cache holds it, or as a GET returns it.
  StatusOr<Service> ReadService();

  ClusterConfig cluster_;
  LabelsConfig labels_;
  KubeApi* api_;
  ServiceWatcher* services_;
  std::optional<Service> last_service_;
  // The resourceVersion a PATCH was refused at (409): the cache must not be
  // trusted while it still holds that version.
  std::string stale_resource_version_;
};

}  // namespace amsha

#endif  // AMS_HA_ROUTING_ROUTING_RECONCILER_H_
