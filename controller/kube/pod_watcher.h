// PodWatcher: a cache of the pods that match a label selector, kept current
// by list + watch. The algorithm (list, watch from the list's
// resourceVersion with bookmarks, reconnect, relist on 410, back off with
// jitter on errors and on watches that close at once without events) and
// the cache's accessors (Start, Stop, Step, Synced, Snapshot, Get,
// Generation, WaitForChange, ResourceVersion, LastError, stats) are
// Reflector<Pod>'s (reflector.h); this class adds the pod list and watch
// and a listener whose Change carries the `pod`.
//
// Callers: the election loop reads Snapshot() and waits on Generation() /
// WaitForChange(); the listener (optional) sees every change. Step() is the
// whole algorithm without sleeping, so unit tests drive it with FakeKubeApi
// and FakeClock; Start() runs Step() in a loop on the watcher's own thread.
//
// Thread safety: as Reflector: Snapshot, Get, Synced, Generation,
// WaitForChange, ResourceVersion, LastError and stats are safe from any
// thread; Step is called from one thread at a time (the watcher's thread
// once started). The listener runs on that thread, never under the cache
// lock.
#ifndef AMS_HA_KUBE_POD_WATCHER_H_
#define AMS_HA_KUBE_POD_WATCHER_H_

#include <functional>
#include <string>

#include "common/clock.h"
#include "kube/kube_api.h"
#include "kube/kube_types.h"
#include "kube/reflector.h"

namespace amsha {

class PodWatcher : public Reflector<Pod> {
 public:
  // initial_backoff, max_backoff, min_watch_duration, backoff_seed, and:
  struct Options : ReflectorTiming {
    std::string label_selector;
  };

  // One change to the cache: kAdded, kModified or kDeleted (with the pod as
  // last known).
  struct Change {
    WatchEventType type;
    Pod pod;
  };
  using Listener = std::function<void(const Change&)>;
  // lists, relists, watches, errors, short_watches.
  using Stats = ReflectorStats;

  // `api` and `clock` must outlive the watcher. Stop() on destruction
  // (within a second with RestKubeApi).
  PodWatcher(KubeApi* api, Options options, const Clock* clock = RealClock::Get());

  // Set before Start(); runs on the watcher's thread after each change.
  void SetListener(Listener listener);
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_POD_WATCHER_H_
