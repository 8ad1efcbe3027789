// ServiceWatcher: a cache of every Service in the controller's namespace,
// kept current by list + watch (Reflector<Service>, reflector.h: the same
// algorithm as PodWatcher's: list, watch from the list's resourceVersion
// with bookmarks, reconnect, relist on 410, back off with jitter).
//
// Why: the routing reconciler of every AMS cluster reads its leader Service
// on every pass; with the cache it reads memory, and the API server sees one
// watch per namespace instead of one GET per cluster per second. One
// watcher serves all clusters of the namespace (no selector: RBAC
// resourceNames cannot restrict a list or watch, so the Role grants
// services list/watch namespace-wide and get/patch only by name).
//
// Callers: RoutingReconciler reads Get() and records the answers of its own
// PATCHes (and of a fallback GET) with Observe(); the cluster loops listen
// for changes (SetListener) to wake the loop whose Service someone else
// changed. Step() is the whole algorithm without sleeping (unit tests drive
// it with FakeKubeApi and FakeClock); Start() runs it on its own thread.
//
// Thread safety: everything but SetListener (before Start) and Step (one
// thread at a time) is safe from any thread. The listener runs on the
// watcher's thread, never under the cache lock.
#ifndef AMS_HA_KUBE_SERVICE_WATCHER_H_
#define AMS_HA_KUBE_SERVICE_WATCHER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/cancellation.h"
#include "common/clock.h"
#include "common/status.h"
#include "kube/kube_api.h"
#include "kube/kube_types.h"
#include "kube/reflector.h"

namespace amsha {

class ServiceWatcher {
 public:
  struct Options {
    std::chrono::milliseconds initial_backoff{200};
    std::chrono::milliseconds max_backoff{30000};
    std::chrono::milliseconds min_watch_duration{1000};
    uint64_t backoff_seed = std::random_device{}();
  };

  // One change to the cache: kAdded, kModified or kDeleted (with the
  // Service as last known). Never for what Observe() records.
  struct Change {
    WatchEventType type;
    Service service;
  };
  using Listener = std::function<void(const Change&)>;
  using Stats = ReflectorStats;

  // `api` and `clock` must outlive the watcher. Watches api->Namespace().
  ServiceWatcher(KubeApi* api, Options options, const Clock* clock = RealClock::Get());
  // Default options.
  explicit ServiceWatcher(KubeApi* api) : ServiceWatcher(api, Options()) {}
  ~ServiceWatcher() = default;  // the reflector stops
  ServiceWatcher(const ServiceWatcher&) = delete;
  ServiceWatcher& operator=(const ServiceWatcher&) = delete;

  // Set before Start(); runs on the watcher's thread after each change.
  void SetListener(Listener listener);

  void Start() { reflector_.Start(); }
  // Cancels the current request and joins the thread. Idempotent.
  void Stop() { reflector_.Stop(); }
  std::chrono::milliseconds Step(const Cancellation& cancel) { return reflector_.Step(cancel); }

  // True once a list has succeeded: from then on Get() returning nullopt
  // means the Service does not exist (as of the watch).
  bool Synced() const { return reflector_.Synced(); }
  std::optional<Service> Get(const std::string& name) const { return reflector_.Get(name); }
  std::vector<Service> Snapshot() const { return reflector_.Snapshot(); }
  uint64_t Generation() const { return reflector_.Generation(); }
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
    return reflector_.WaitForChange(seen, timeout);
  }
  std::string ResourceVersion() const { return reflector_.ResourceVersion(); }
  // The last failed list or watch (a 403 names the missing Role rule), OK
  // after a success.
  Status LastError() const { return reflector_.LastError(); }
  Stats stats() const { return reflector_.stats(); }

  // Records the Service our own write (or read) returned, at once; a later
  // watch event overwrites it. Never moves the cache back over a version
  // the watch already delivered (Reflector::Observe). True when taken.
  bool Observe(const Service& service) { return reflector_.Observe(service); }

 private:
  Reflector<Service> reflector_;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_SERVICE_WATCHER_H_
