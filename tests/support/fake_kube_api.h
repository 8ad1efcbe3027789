// FakeKubeApi: an in-memory Kubernetes API for unit tests.
//
// Holds pods, Services and Events in one namespace with one global
// resourceVersion counter bumped on every write, like the API server. Watches
// (of pods, of Services) replay a bounded history of changes from the
// requested resourceVersion (older ones get kGone), apply the label selector
// the way the server does (a pod that stops matching is sent as DELETED, one
// that starts matching as ADDED), then wait for new changes until cancelled
// or ended by a knob. Pod and Service watches share the knobs (scripted
// ends, EndWatches, Compact, bookmarks).
//
// Knobs: fail the next N calls of a method with a Status, script how the next
// watches end (normal close, kGone, an error), end open watches, compact the
// history, send bookmarks, run a hook at the start of every call. Every call
// is recorded with its arguments and result (a watch when it opens; its
// result is filled in when it ends).
//
// Thread-safe: the code under test calls it from its threads while the test
// changes state and reads records from its own.
#ifndef AMS_HA_TESTS_SUPPORT_FAKE_KUBE_API_H_
#define AMS_HA_TESTS_SUPPORT_FAKE_KUBE_API_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kube/kube_api.h"

namespace amsha {

class FakeKubeApi : public KubeApi {
 public:
  enum class Method {
    kListPods,
    kWatchPods,
    kPatchPodLabels,
    kGetService,
    kPatchService,
    kListServices,
    kWatchServices,
    kCreateEvent,
    kPatchEventSeries,
  };
  static const char* MethodName(Method method);

  struct Call {
    Method method;
    // "selector=app=ams", "selector=app=ams rv=12", "pod=ams-0 labels={a=b,c=null}",
    // "service=ams-leader selector={..} annotations={..} expectedRv=",
    // "rv=12" (WatchServices), "" (ListServices),
    // "reason=LeaderElected object=Pod/ams-0".
    std::string detail;
    Status result;
  };

  explicit FakeKubeApi(std::string namespace_name = "default");
  ~FakeKubeApi() override;

  // --- KubeApi ---
  const std::string& Namespace() const override { return namespace_; }
  using KubeApi::ListPods;
  StatusOr<PodList> ListPods(const std::string& label_selector) override;
  StatusOr<PodList> ListPods(const std::string& label_selector,
                             const Cancellation& cancel) override;
  Status WatchPods(const std::string& label_selector, const std::string& resource_version,
                   const std::function<void(const PodWatchEvent&)>& on_event,
                   const Cancellation& cancel) override;
  StatusOr<Pod> PatchPodLabels(const std::string& pod_name, const LabelPatch& labels) override;
  StatusOr<Service> GetService(const std::string& name) override;
  StatusOr<Service> PatchService(const std::string& name, const ServicePatch& patch) override;
  StatusOr<ServiceList> ListServices(const Cancellation& cancel) override;
  Status WatchServices(const std::string& resource_version,
                       const std::function<void(const ServiceWatchEvent&)>& on_event,
                       const Cancellation& cancel) override;
  Status CreateEvent(const Event& event) override;
  Status PatchEventSeries(const Event& event) override;

  // --- State, written as the API server would ---
  // A Running pod in this namespace with a uid and (if `ip` is empty) an IP
  // derived from the name. Not stored: pass it to PutPod.
  Pod MakePod(const std::string& name, Labels labels, bool ready = true, std::string ip = "") const;
  // Creates or replaces the pod named pod.name (ADDED or MODIFIED); returns
  // it with its new resourceVersion.
  Pod PutPod(Pod pod);
  // Flips the Ready condition (MODIFIED). kNotFound if absent.
  Status SetPodReady(const std::string& name, bool ready);
  // Sets deletionTimestamp (MODIFIED), as a graceful delete starts.
  Status MarkPodTerminating(const std::string& name);
  // Removes the pod (DELETED).
  Status RemovePod(const std::string& name);
  std::optional<Pod> FindPod(const std::string& name) const;
  std::vector<Pod> Pods() const;  // by name

  // Creates or replaces the Service named service.name (ADDED or MODIFIED).
  Service PutService(Service service);
  // Removes the Service (DELETED). kNotFound if absent.
  Status RemoveService(const std::string& name);
  std::optional<Service> FindService(const std::string& name) const;
  std::vector<Event> Events() const;
  std::string CurrentResourceVersion() const;

  // --- Knobs ---
  // The next `count` calls of `method` return `status` without effect.
  void FailNext(Method method, int count, Status status);
  // Queues how a future watch ends: each watch call takes the front of
  // the queue; it replays the history since its resourceVersion and then
  // returns `end` at once instead of waiting (OK: a normal server close).
  // kGone is returned before replaying anything, as the server's 410 is.
  void ScriptWatchEnd(Status end);
  // The next `count` calls of `method` hang, as calls to a stalled API
  // server do, until ReleaseHangs() (then they proceed) or the call's
  // Cancellation fires (ListPods with one, WatchPods: then kCancelled).
  void HangNext(Method method, int count);
  void ReleaseHangs();
  // Waits (up to `timeout`) until `n` calls are hanging; false on timeout.
  bool WaitForHanging(int n, std::chrono::milliseconds timeout) const;
  // Forgets pending FailNext failures, hangs and scripted watch ends.
  void ClearKnobs();
  // Ends every open watch now with `end` (OK: a normal server close).
  void EndWatches(Status end = Status::Ok());
  // Drops the history: a watch from an older resourceVersion gets kGone.
  void Compact();
  // Keeps at most `events` history entries (default 1000), like the API
  // server's watch cache window.
  void SetHistoryWindow(size_t events);
  // Sends a BOOKMARK at the current resourceVersion to open watches.
  void SendBookmark();
  // Runs `hook` (outside the lock) at the start of every call.
  void SetCallHook(std::function<void(Method)> hook);

  // --- Records ---
  std::vector<Call> Calls() const;
  std::vector<Call> CallsOf(Method method) const;
  int CallCount(Method method) const;
  void ClearCalls();
  int OpenWatches() const;
  // Waits (up to `timeout`) until `n` watches are open; false on timeout.
  bool WaitForOpenWatches(int n, std::chrono::milliseconds timeout) const;
  // Waits (up to `timeout`) until `method` has been called `n` times.
  bool WaitForCalls(Method method, int n, std::chrono::milliseconds timeout) const;

 private:
  enum class Kind { kPod, kService };  // kBookmark entries: either
  struct HistoryEntry {
    uint64_t seq;
    int64_t rv;
    Kind kind;
    WatchEventType type;  // as stored: kAdded, kModified, kDeleted or kBookmark
    std::optional<Pod> before;
    std::optional<Pod> after;
    std::optional<Service> service_before;
    std::optional<Service> service_after;
  };
  // Events of one watch, delivered outside mu_.
  using Batch = std::vector<std::function<void()>>;

  // Each takes mu_ (held by the caller).
  int64_t BumpLocked() { return ++rv_; }
  void RecordLocked(WatchEventType type, std::optional<Pod> before, std::optional<Pod> after,
                    int64_t rv);
  void RecordServiceLocked(WatchEventType type, std::optional<Service> before,
                           std::optional<Service> after, int64_t rv);
  void AppendLocked(HistoryEntry entry);
  // One watch of either kind: knobs, replay from `resource_version` (or
  // `current_state` for "any"), then history entries through `translate`
  // until the watch ends. Takes mu_ itself.
  Status RunWatch(Method method, const std::string& detail, const std::string& resource_version,
                  const Status& request_error, const Cancellation& cancel,
                  const std::function<void(Batch*)>& current_state,
                  const std::function<void(const HistoryEntry&, Batch*)>& translate);
  bool TakeFailureLocked(Method method, Status* status);
  void LogCallLocked(Method method, std::string detail, const Status& result);
  void RunHook(Method method);
  // Blocks if a hang is pending for `method`; false when cancelled.
  bool WaitOutHang(Method method, const Cancellation* cancel);

  const std::string namespace_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  int64_t rv_ = 100;
  uint64_t next_seq_ = 1;
  std::map<std::string, Pod> pods_;
  std::map<std::string, Service> services_;
  std::vector<Event> events_;
  std::deque<HistoryEntry> history_;
  size_t history_window_ = 1000;
  // Watches from a resourceVersion below this get kGone.
  int64_t oldest_servable_rv_ = 100;
  std::map<Method, std::deque<Status>> failures_;
  std::map<Method, int> hangs_;
  int hanging_ = 0;
  uint64_t release_generation_ = 0;
  std::deque<Status> scripted_ends_;
  // Bumped by EndWatches(); an open watch that sees it move returns end_status_.
  uint64_t end_generation_ = 0;
  Status end_status_;
  int open_watches_ = 0;
  std::vector<Call> calls_;
  uint64_t calls_epoch_ = 0;  // bumped by ClearCalls()
  std::function<void(Method)> hook_;
  int next_uid_ = 1;
};

}  // namespace amsha

#endif  // AMS_HA_TESTS_SUPPORT_FAKE_KUBE_API_H_
