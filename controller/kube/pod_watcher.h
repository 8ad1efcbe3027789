// PodWatcher: a cache of the pods that match a label selector, kept current
// by list + watch, the way client-go's reflector does it.
//
//   list  -> watch from the list's resourceVersion (with bookmarks)
//         -> normal close: watch again from the last resourceVersion seen
//         -> kGone (410): list again; the new list replaces the cache and the
//            differences are emitted as changes
//         -> any other error: back off with jitter, then watch again from the
//            last resourceVersion seen (or list again if never listed)
// A watch that ends normally within `min_watch_duration` without a single
// event also backs off, so a server that closes watches at once is not
// hammered.
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
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/backoff.h"
#include "common/cancellation.h"
#include "common/clock.h"
#include "common/status.h"
#include "kube/kube_api.h"
#include "kube/kube_types.h"

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

  struct Stats {
    int lists = 0;          // ListPods calls (first list and relists)
    int relists = 0;        // lists caused by kGone
    int watches = 0;        // WatchPods calls
    int errors = 0;         // failed lists and watches
    int short_watches = 0;  // normal closes too early and without events
  };

  // `api` and `clock` must outlive the watcher.
  PodWatcher(KubeApi* api, Options options, const Clock* clock = RealClock::Get());
  ~PodWatcher();  // Stop()
  PodWatcher(const PodWatcher&) = delete;
  PodWatcher& operator=(const PodWatcher&) = delete;

  // Set before Start(); runs on the watcher's thread after each change.
  void SetListener(Listener listener) { listener_ = std::move(listener); }

  // Starts the thread. Once only.
  void Start();
  // Cancels the current request and joins the thread (within a second with
  // RestKubeApi). Idempotent; the watcher cannot be restarted.
  void Stop();

  // One list (when needed) or one watch (which streams until it ends or
  // `cancel` fires). Returns how long to wait before the next step.
  std::chrono::milliseconds Step(const Cancellation& cancel);

  // True once a list has succeeded; the cache is meaningful from then on.
  bool Synced() const;
  // The cached pods, by name.
  std::vector<Pod> Snapshot() const;
  std::optional<Pod> Get(const std::string& name) const;
  // Bumped after every change to the cache and when first synced.
  uint64_t Generation() const;
  // Waits until Generation() differs from `seen`, the timeout passes or the
  // watcher stops; returns Generation().
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;
  // The last resourceVersion seen (list, event or bookmark).
  std::string ResourceVersion() const;
  // The last failed list or watch, OK after a success.
  Status LastError() const;
  Stats stats() const;

 private:
  // Applies one watch event; returns the change, if any. Takes mu_.
  std::optional<Change> ApplyEvent(const PodWatchEvent& event);
  // Replaces the cache with `list`; returns the differences. Takes mu_.
  std::vector<Change> ReplaceAll(const PodList& list);
  void Notify(const std::vector<Change>& changes);
  void Run();

  KubeApi* const api_;
  const Options options_;
  const Clock* const clock_;
  Listener listener_;
  Backoff backoff_;        // used by Step() only
  bool need_list_ = true;  // used by Step() only

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Pod> pods_;
  std::string resource_version_;
  bool synced_ = false;
  bool stopped_ = false;
  uint64_t generation_ = 0;
  Status last_error_;
  Stats stats_;

  Cancellation cancel_;
  std::thread thread_;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_POD_WATCHER_H_
