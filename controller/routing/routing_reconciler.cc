#include "routing/routing_reconciler.h"

#include <algorithm>

#include "routing/desired_state.h"

namespace amsha {

RoutingReconciler::RoutingReconciler(ClusterConfig cluster, LabelsConfig labels, KubeApi* api,
                                     ServiceWatcher* services)
    : cluster_(std::move(cluster)), labels_(std::move(labels)), api_(api), services_(services) {}

RoutingResult RoutingReconciler::Reconcile(const Pod* leader, const std::string& node_id,
                                           const std::vector<Pod>& pods,
                                           const std::string& transition_time) {
  RoutingResult result;
  auto keep_first_error = [&](const Status& s) {
    if (!s.ok() && result.status.ok()) result.status = s;
  };
  std::vector<Pod> updated = pods;

  std::vector<std::string> collisions = IdentityCollisions(pods);
  if (leader && std::count(collisions.begin(), collisions.end(), leader->name) > 0) {
    keep_first_error(
        FailedPreconditionError("pod " + leader->name +
                                " shares its identity label value with another pod; refusing to "
                                "route to it (rename one of the pods)"));
    leader = nullptr;
  }

  auto label = [&](Pod& pod, bool is_leader) {
    LabelPatch patch = PodLabelPatch(pod, labels_, is_leader);
    if (patch.empty()) return;
    auto patched = api_->PatchPodLabels(pod.name, patch);
    ++result.patches;
    if (patched.ok()) {
      pod.labels = patched->labels;
    } else if (patched.status().code() != StatusCode::kNotFound) {
      keep_first_error(patched.status());
    }
  };

  std::string leader_name = leader ? leader->name : "";
  for (Pod& pod : updated) {
    if (pod.name == leader_name) label(pod, true);
  }
  keep_first_error(PatchService(leader, node_id, transition_time, &result));
  for (Pod& pod : updated) {
    if (pod.name != leader_name && !pod.Terminating()) label(pod, false);
  }
  result.routed = SelectedPods(DesiredSelector(labels_, leader), updated);
  return result;
}

StatusOr<Service> RoutingReconciler::ReadService() {
  if (services_ && services_->Synced()) {
    std::optional<Service> cached = services_->Get(cluster_.service);
    if (cached && cached->resource_version != stale_resource_version_) return *cached;
  }
  auto service = api_->GetService(cluster_.service);
  if (!service.ok()) {
    if (service.status().code() == StatusCode::kNotFound) {
      return NotFoundError("Service " + cluster_.service + " not found in namespace " +
                           api_->Namespace() +
                           ": create it (Helm value leaderService.create=true) or fix "
                           "clusters[].service");
    }
    return service.status();
  }
  // Fresher than the cache's stale version, or the same as the cache's: the
  // cache takes it unless its watch is already past it.
  stale_resource_version_.clear();
  if (services_) services_->Observe(*service);
  return service;
}

Status RoutingReconciler::PatchService(const Pod* leader, const std::string& node_id,
                                       const std::string& transition_time, RoutingResult* result) {
  // No retry here on 409 (someone wrote the Service between our read and
  // patch): the decision this patch carries may be stale. The conflict goes
  // back to the cluster loop, which reads the lease and decides anew.
  StatusOr<Service> service = ReadService();
  if (!service.ok()) return service.status();
  last_service_ = *service;
  Labels selector = DesiredSelector(labels_, leader);
  ServicePatch patch;
  if (service->selector != selector) patch.selector = selector;
  patch.annotations = ServiceAnnotationPatch(*service, leader, node_id, transition_time);
  if (!patch.selector && patch.annotations.empty()) return Status::Ok();
  patch.expected_resource_version = service->resource_version;
  patch.current_selector = service->selector;
  auto patched = api_->PatchService(cluster_.service, patch);
  ++result->patches;
  if (patched.ok()) {
    last_service_ = *patched;
    if (services_) services_->Observe(*patched);
    result->selector_changed = patch.selector.has_value();
    return Status::Ok();
  }
  if (patched.status().code() == StatusCode::kNotFound) {
    // Deleted after our read: the next pass reads it and says so.
    stale_resource_version_ = service->resource_version;
  }
  if (!patched.status().IsConflict()) return patched.status();
  stale_resource_version_ = service->resource_version;
  return ConflictError("Service " + cluster_.service +
                       " changed between the controller's read and its patch");
}

}  // namespace amsha
