// RestKubeApi: KubeApi over HTTPS to a real Kubernetes API server.
//
// The only controller file that includes cpprestsdk is rest_kube_api.cc;
// this header does not, so callers never see the library. Built from a
// KubeConnection (kube_connection.h): custom CA (trusted instead of the
// system roots, as kubectl does), client certificates, insecure-skip-tls-
// verify, and a bearer token re-read from its file when it rotates.
//
// Requests carry a timeout (no bytes for `request_timeout` fails them); a
// watch asks the server to close it after `watch_timeout` and gives up on a
// silent stream after `watch_idle_timeout`. Every request is reported to the
// observer (verb, HTTP status or 0 for a transport failure, seconds) so the
// metrics adapter can count them. Error mapping and messages: see
// kube_api.h and kube_wire::ErrorFromResponse below.
//
// Write semantics chosen here:
//   * Pod labels: JSON merge patch of metadata.labels (null removes a key).
//   * Service: a merge patch too, with nulls for the selector keys the new
//     selector drops, computed from a fresh GET (or, with no GET, from the
//     caller's ServicePatch::current_selector when it also names the
//     expected_resource_version, as a watch cache does), and the GET's
//     metadata.resourceVersion in the patch body as a precondition. The API
//     server rejects the patch with 409 if the Service changed after the GET,
//     so "replace the selector" is atomic; we then GET and try again (up to 3
//     times) unless the caller named an expected_resource_version, in which
//     case the 409 is the caller's kConflict. (A JSON patch "replace
//     /spec/selector" would avoid the GET, but JSON patch cannot remove an
//     annotation that may be absent or add one when the annotations map is
//     missing, and we want one patch type with one set of semantics.)
//   * Events: core/v1 Events as kube-apiserver's legacyValidateEvent wants
//     them once eventTime is set (action, reason, reportingComponent,
//     reportingInstance, the involved object's namespace), named like
//     client-go's recorder ("<object>.<hex nanoseconds>"); a repeat is a
//     merge patch of count, lastTimestamp, message and series
//     (EventRecorder decides which).
//   * Every write carries fieldValidation=Strict, so a field the server
//     does not know fails the request instead of being dropped silently.
//
// Thread safety: all methods may be called concurrently.
#ifndef AMS_HA_KUBE_REST_KUBE_API_H_
#define AMS_HA_KUBE_REST_KUBE_API_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "kube/kube_api.h"
#include "kube/kube_connection.h"

namespace amsha {

// verb: list, watch, get, patch, create. code: the HTTP status, or 0 when
// no response came (connection refused, timeout, TLS failure).
using KubeRequestObserver = std::function<void(const std::string& verb, int code, double seconds)>;

struct RestKubeApiOptions {
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::seconds watch_timeout{300};
  // 0: watch_timeout + 30 s. Must exceed the server's bookmark interval.
  std::chrono::milliseconds watch_idle_timeout{0};
  std::string user_agent = "ams-ha-controller";
  KubeRequestObserver observer;
  const Clock* clock = RealClock::Get();  // Event timestamps and request durations
};

class RestKubeApi : public KubeApi {
 public:
  // Errors: kInvalidArgument when the CA or client certificate/key is not
  // usable PEM, or the server URL is malformed.
  static StatusOr<std::unique_ptr<RestKubeApi>> Create(const KubeConnection& connection,
                                                       RestKubeApiOptions options = {});
  ~RestKubeApi() override;

  const std::string& Namespace() const override { return namespace_; }
  StatusOr<PodList> ListPods(const std::string& label_selector) override;
  StatusOr<PodList> ListPods(const std::string& label_selector,
                             const Cancellation& cancel) override;
  Status WatchPods(const std::string& label_selector, const std::string& resource_version,
                   const std::function<void(const PodWatchEvent&)>& on_event,
                   const Cancellation& cancel) override;
  StatusOr<Pod> PatchPodLabels(const std::string& pod_name, const LabelPatch& labels) override;
  StatusOr<Service> GetService(const std::string& name) override;
  StatusOr<ServiceList> ListServices(const Cancellation& cancel) override;
  Status WatchServices(const std::string& resource_version,
                       const std::function<void(const ServiceWatchEvent&)>& on_event,
                       const Cancellation& cancel) override;
  StatusOr<Service> PatchService(const std::string& name, const ServicePatch& patch) override;
  Status CreateEvent(const Event& event) override;
  Status PatchEventSeries(const Event& event) override;

 private:
  class Impl;
  RestKubeApi(std::unique_ptr<Impl> impl, std::string namespace_name);

  std::unique_ptr<Impl> impl_;
  const std::string namespace_;
};

// The wire format: pure functions, exposed for unit tests. They live in
// rest_kube_api.cc because building and parsing JSON needs the library.
namespace kube_wire {

// What a request was about, for error messages.
struct RequestTarget {
  std::string verb;      // "patch"
  std::string resource;  // "services"
  std::string name;      // "ams-leader"; empty for collections
  std::string namespace_name;
};

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string EncodeComponent(const std::string& text);

std::string PodsPath(const std::string& namespace_name, const std::string& name = "");
std::string ServicesPath(const std::string& namespace_name, const std::string& name = "");
std::string EventsPath(const std::string& namespace_name, const std::string& name = "");
// `path` with fieldValidation=Strict: the API server rejects (400) a write
// that names a field the kind does not have, instead of dropping it.
std::string WithStrictValidation(const std::string& path);
// "/api/v1/namespaces/ns/pods?labelSelector=..." (no query when empty).
std::string ListPodsUrl(const std::string& namespace_name, const std::string& label_selector);
std::string WatchPodsUrl(const std::string& namespace_name, const std::string& label_selector,
                         const std::string& resource_version, int timeout_seconds);
// Every Service of the namespace (no selector), from `resource_version`.
std::string WatchServicesUrl(const std::string& namespace_name, const std::string& resource_version,
                             int timeout_seconds);

// {"metadata":{"labels":{"a":"b","gone":null}}}
std::string PodLabelsPatch(const LabelPatch& labels);
// Merge patch replacing the selector `current` with patch.selector (nulls for
// dropped keys), merging annotations, and carrying `resource_version` (if
// non-empty) as a precondition.
std::string ServiceMergePatch(const Labels& current, const ServicePatch& patch,
                              const std::string& resource_version);
// The Event to POST. `namespace_name` when the involved object has none.
std::string EventBody(const Event& event, const std::string& namespace_name);
// The merge patch that records a repeat: count, lastTimestamp, message and
// series {count, lastObservedTime}.
std::string EventSeriesPatch(const Event& event);

StatusOr<Pod> ParsePod(const std::string& json);
StatusOr<PodList> ParsePodList(const std::string& json);
StatusOr<Service> ParseService(const std::string& json);
StatusOr<ServiceList> ParseServiceList(const std::string& json);
// One line of a watch stream. An ERROR event comes back as its Status
// (kGone for 410 Expired/Gone); a malformed line as kInternal.
StatusOr<PodWatchEvent> ParseWatchLine(const std::string& line, const RequestTarget& target);
// The same for a Services watch.
StatusOr<ServiceWatchEvent> ParseServiceWatchLine(const std::string& line,
                                                  const RequestTarget& target);

// Maps a non-2xx response to a Status (codes as in kube_api.h) whose message
// names what was attempted, the HTTP status and the API's reason and
// message, e.g. `forbidden: cannot patch services "ams-leader" in namespace
// "ams" (HTTP 403 Forbidden): <server message>; grant it in the controller's
// Role`. `retry_after` is the Retry-After header ("" if none).
Status ErrorFromResponse(int http_status, const std::string& body, const RequestTarget& target,
                         const std::string& retry_after = "");

}  // namespace kube_wire
}  // namespace amsha

#endif  // AMS_HA_KUBE_REST_KUBE_API_H_
