// FencedKubeApi: a KubeApi that sends a write only while a fence allows it.
//
// The cluster loop wraps its KubeApi in one whose fence is "this replica
// is still the active controller" (ControllerElector::IsActive, which ends
// renewDeadline after the last successful renewal started, before the
// controller lease could expire). The fence is checked immediately before
// every write request (pod label patch, Service patch, Event create or
// patch), not once per
// pass, so a pass that lost its lease half-way through sends nothing more.
// A fenced write returns kCancelled and is never sent. Reads pass through.
// Thread safety: as the wrapped KubeApi; the fence must be thread-safe.
#ifndef AMS_HA_KUBE_FENCED_KUBE_API_H_
#define AMS_HA_KUBE_FENCED_KUBE_API_H_

#include <functional>
#include <string>

#include "kube/kube_api.h"

namespace amsha {

class FencedKubeApi : public KubeApi {
 public:
  FencedKubeApi(KubeApi* api, std::function<bool()> may_write)
      : api_(api), may_write_(std::move(may_write)) {}

  // True when `status` is what a fenced write returns.
  static bool IsFenced(const Status& status);

  const std::string& Namespace() const override { return api_->Namespace(); }
  using KubeApi::ListPods;
  StatusOr<PodList> ListPods(const std::string& label_selector) override {
    return api_->ListPods(label_selector);
  }
  StatusOr<PodList> ListPods(const std::string& label_selector,
                             const Cancellation& cancel) override {
    return api_->ListPods(label_selector, cancel);
  }
  Status WatchPods(const std::string& label_selector, const std::string& resource_version,
                   const std::function<void(const PodWatchEvent&)>& on_event,
                   const Cancellation& cancel) override {
    return api_->WatchPods(label_selector, resource_version, on_event, cancel);
  }
  StatusOr<Service> GetService(const std::string& name) override { return api_->GetService(name); }
  StatusOr<ServiceList> ListServices(const Cancellation& cancel) override {
    return api_->ListServices(cancel);
  }
  Status WatchServices(const std::string& resource_version,
                       const std::function<void(const ServiceWatchEvent&)>& on_event,
                       const Cancellation& cancel) override {
    return api_->WatchServices(resource_version, on_event, cancel);
  }

  StatusOr<Pod> PatchPodLabels(const std::string& pod_name, const LabelPatch& labels) override;
  StatusOr<Service> PatchService(const std::string& name, const ServicePatch& patch) override;
  Status CreateEvent(const Event& event) override;
  Status PatchEventSeries(const Event& event) override;

 private:
  Status Fenced(const std::string& what) const;

  KubeApi* api_;
  std::function<bool()> may_write_;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_FENCED_KUBE_API_H_
