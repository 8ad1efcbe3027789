#include "kube/fenced_kube_api.h"

namespace amsha {
namespace {

constexpr char kFencedPrefix[] = "not sent: this replica is no longer the active controller (";

}  // namespace

bool FencedKubeApi::IsFenced(const Status& status) {
  return status.code() == StatusCode::kCancelled && status.message().rfind(kFencedPrefix, 0) == 0;
}

Status FencedKubeApi::Fenced(const std::string& what) const {
  return CancelledError(kFencedPrefix + what + ")");
}

StatusOr<Pod> FencedKubeApi::PatchPodLabels(const std::string& pod_name, const LabelPatch& labels) {
  if (!may_write_()) return Fenced("patch of pod " + pod_name);
  return api_->PatchPodLabels(pod_name, labels);
}

StatusOr<Service> FencedKubeApi::PatchService(const std::string& name, const ServicePatch& patch) {
  if (!may_write_()) return Fenced("patch of Service " + name);
  return api_->PatchService(name, patch);
}

Status FencedKubeApi::CreateEvent(const Event& event) {
  if (!may_write_()) return Fenced("Event " + event.reason);
  return api_->CreateEvent(event);
}

}  // namespace amsha
