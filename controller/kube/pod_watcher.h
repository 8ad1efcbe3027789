// PodWatcher: a cache of the pods that match a label selector, kept current
// by list + watch (Reflector<Pod>, reflector.h: list, watch from the list's
// resourceVersion with bookmarks, reconnect, relist on 410, back off with
// jitter on errors and on watches that close at once without events).
//
// Callers: the election loop reads Snapshot() and waits on Generation() /
// WaitForChange(); the listener (optional) sees every change. Step() is the
// whole algorithm without sleeping, so unit tests drive it with FakeKubeApi
// and FakeClock; Start() runs Step() in a loop on the watcher's own thread.
//
// Thread safety: Snapshot, Get, Synced, Generation, WaitForChange,
// ResourceVersion, LastError and stats are safe from any thread. Step is
// called from one thread at a time (the watcher's thread once started). The
// listener runs on that thread, never under the cache lock.
#ifndef AMS_HA_KUBE_POD_WATCHER_H_
#define AMS_HA_KUBE_POD_WATCHER_H_

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

class PodWatcher {
 public:
  struct Options {
    std::string label_selector;
    std::chrono::milliseconds initial_backoff{200};
    std::chrono::milliseconds max_backoff{30000};
    std::chrono::milliseconds min_watch_duration{1000};
    uint64_t backoff_seed = std::random_device{}();
  };

  // One change to the cache: kAdded, kModified or kDeleted (with the pod as
  // last known).
  struct Change {
    WatchEventType type;
    Pod pod;
  };
  using Listener = std::function<void(const Change&)>;
  // lists, relists, watches, errors, short_watches (reflector.h).
  using Stats = ReflectorStats;

  // `api` and `clock` must outlive the watcher.
  PodWatcher(KubeApi* api, Options options, const Clock* clock = RealClock::Get());
  ~PodWatcher() = default;  // the reflector stops
  PodWatcher(const PodWatcher&) = delete;
  PodWatcher& operator=(const PodWatcher&) = delete;

  // Set before Start(); runs on the watcher's thread after each change.
  void SetListener(Listener listener);

  // Starts the thread. Once only.
  void Start() { reflector_.Start(); }
  // Cancels the current request and joins the thread (within a second with
  // RestKubeApi). Idempotent; the watcher cannot be restarted.
  void Stop() { reflector_.Stop(); }

  // One list (when needed) or one watch (which streams until it ends or
  // `cancel` fires). Returns how long to wait before the next step.
  std::chrono::milliseconds Step(const Cancellation& cancel) { return reflector_.Step(cancel); }

  // True once a list has succeeded; the cache is meaningful from then on.
  bool Synced() const { return reflector_.Synced(); }
  // The cached pods, by name.
  std::vector<Pod> Snapshot() const { return reflector_.Snapshot(); }
  std::optional<Pod> Get(const std::string& name) const { return reflector_.Get(name); }
  // Bumped after every change to the cache and when first synced.
  uint64_t Generation() const { return reflector_.Generation(); }
  // Waits until Generation() differs from `seen`, the timeout passes or the
  // watcher stops; returns Generation().
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
    return reflector_.WaitForChange(seen, timeout);
  }
  // The last resourceVersion seen (list, event or bookmark).
  std::string ResourceVersion() const { return reflector_.ResourceVersion(); }
  // The last failed list or watch, OK after a success.
  Status LastError() const { return reflector_.LastError(); }
  Stats stats() const { return reflector_.stats(); }

 private:
  Reflector<Pod> reflector_;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_POD_WATCHER_H_
