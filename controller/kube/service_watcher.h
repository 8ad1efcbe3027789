// ServiceWatcher: a cache of every Service in the controller's namespace,
// kept current by list + watch: Reflector<Service> (reflector.h), the same
// algorithm and accessors as PodWatcher's (list, watch from the list's
// resourceVersion with bookmarks, reconnect, relist on 410, back off with
// jitter; Start, Stop, Step, Synced, Snapshot, Get, Generation,
// WaitForChange, ResourceVersion, LastError, stats) plus Observe().
//
// Why: the routing reconciler of every AMS cluster reads its leader Service
// on every pass; with the cache it reads memory, and the API server sees one
// watch per namespace instead of one GET per cluster and pass. One watcher
// serves all clusters of the namespace (no selector: RBAC resourceNames
// cannot restrict a list or watch, so the Role grants services list/watch
// namespace-wide and get/patch only by name).
//
// Callers: RoutingReconciler reads Get() and records the answers of its own
// PATCHes (and of a fallback GET) with Observe(); the cluster loops listen
// for changes (SetListener: one listener, which wakes the loop whose
// Service changed). Synced() with Get() returning nullopt means the Service
// does not exist as of the watch. LastError() after a 403 names the missing
// Role rule (`forbidden: cannot watch services in namespace "x" (HTTP 403
// Forbidden): ...; grant it in the controller's Role`).
//
// Thread safety: as Reflector (Observe too); SetListener before Start.
#ifndef AMS_HA_KUBE_SERVICE_WATCHER_H_
#define AMS_HA_KUBE_SERVICE_WATCHER_H_

#include <functional>

#include "common/clock.h"
#include "kube/kube_api.h"
#include "kube/kube_types.h"
#include "kube/reflector.h"

namespace amsha {

class ServiceWatcher : public Reflector<Service> {
 public:
  // initial_backoff, max_backoff, min_watch_duration, backoff_seed.
  using Options = ReflectorTiming;

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

  // Set before Start(); runs on the watcher's thread after each change.
  void SetListener(Listener listener);
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_SERVICE_WATCHER_H_
