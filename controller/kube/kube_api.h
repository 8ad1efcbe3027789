// KubeApi: the narrow interface to the Kubernetes API server.
//
// Callers: PodWatcher and ServiceWatcher (list + watch), the routing
// reconciler (labels, Service, Events). Implementations: RestKubeApi (cpprestsdk; the only file
// that includes cpprest) and FakeKubeApi (tests).
//
// Errors are Status values carrying the HTTP status and the API's Status
// reason and message:
//   401 kUnauthenticated, 403 kPermissionDenied (the message names the verb,
//   resource and namespace), 404 kNotFound, 409 kConflict, 410 kGone,
//   422 kInvalidArgument, 429 / 5xx / connection errors kUnavailable.
// Thread safety: all methods may be called concurrently from any thread.
#ifndef AMS_HA_KUBE_KUBE_API_H_
#define AMS_HA_KUBE_KUBE_API_H_

#include <functional>
#include <string>

#include "common/cancellation.h"
#include "common/status.h"
#include "kube/kube_types.h"

namespace amsha {

class KubeApi {
 public:
  virtual ~KubeApi() = default;

  // The namespace this client works in (from config, kubeconfig or the
  // service-account namespace file).
  virtual const std::string& Namespace() const = 0;

  // Pods matching `label_selector` (equality or set-based, passed through).
  virtual StatusOr<PodList> ListPods(const std::string& label_selector) = 0;
  // The same, abandoned with kCancelled when `cancel` fires (within a
  // second), so that a watcher stops promptly even while a list hangs. The
  // default ignores `cancel`. Implementations that override only one of the
  // two add `using KubeApi::ListPods;`.
  virtual StatusOr<PodList> ListPods(const std::string& label_selector,
                                     const Cancellation& cancel) {
    (void)cancel;
    return ListPods(label_selector);
  }

  // Streams pod events from `resource_version` (with bookmarks) into
  // `on_event` until the server closes the stream (returns OK: reconnect),
  // the resourceVersion is too old (kGone: list again, whether the 410 came
  // as an HTTP status or as an ERROR event in the stream), an error occurs,
  // or `cancel` fires (kCancelled, within a second).
  virtual Status WatchPods(const std::string& label_selector, const std::string& resource_version,
                           const std::function<void(const PodWatchEvent&)>& on_event,
                           const Cancellation& cancel) = 0;

  // JSON merge patch of metadata.labels; nullopt values remove the label.
  virtual StatusOr<Pod> PatchPodLabels(const std::string& pod_name, const LabelPatch& labels) = 0;

  virtual StatusOr<Service> GetService(const std::string& name) = 0;
  // Every Service of Namespace() (no selector: RBAC resourceNames cannot
  // restrict a list), abandoned with kCancelled when `cancel` fires.
  virtual StatusOr<ServiceList> ListServices(const Cancellation& cancel) = 0;
  // Streams the Services of Namespace() from `resource_version`, with the
  // same contract as WatchPods (bookmarks; OK on a normal close; kGone for a
  // 410 as HTTP status or ERROR event; kCancelled when `cancel` fires).
  virtual Status WatchServices(const std::string& resource_version,
                               const std::function<void(const ServiceWatchEvent&)>& on_event,
                               const Cancellation& cancel) = 0;
  virtual StatusOr<Service> PatchService(const std::string& name, const ServicePatch& patch) = 0;

  // Creates the core/v1 Event `event` (its name, in the namespace of
  // `event.involved_object`, or Namespace() when that is empty).
  virtual Status CreateEvent(const Event& event) = 0;
  // Records a repeat of the Event named `event.name`: patches its count,
  // lastTimestamp, series and message. kNotFound when it is gone (expired
  // or deleted): the caller creates it again.
  virtual Status PatchEventSeries(const Event& event) = 0;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_KUBE_API_H_
