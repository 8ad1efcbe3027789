// Reflector<Object>: a cache of one kind of Kubernetes object kept current
// by list + watch, the way client-go's reflector does it. PodWatcher and
// ServiceWatcher are thin typed faces over it; the algorithm lives here once.
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
// The object's kind enters only through the two functions given at
// construction (list, watch) and through Object's fields `name` and
// `resource_version` and its operator==. Instantiated for Pod and Service
// (reflector.cc). PodWatcher and ServiceWatcher derive from it and add
// their constructor and a listener whose Change names the object (`pod`,
// `service`).
//
// Thread safety: Snapshot, Get, Synced, Generation, WaitForChange,
// ResourceVersion, LastError, stats and Observe are safe from any thread.
// Step is called from one thread at a time (the reflector's thread once
// started). The listener runs on that thread, never under the cache lock.
#ifndef AMS_HA_KUBE_REFLECTOR_H_
#define AMS_HA_KUBE_REFLECTOR_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
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
#include "common/logging.h"
#include "common/status.h"
#include "kube/kube_types.h"

namespace amsha {

// The timing knobs every watcher built on Reflector takes.
struct ReflectorTiming {
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
  // A normal close sooner than this, without events, backs off too.
  std::chrono::milliseconds min_watch_duration{1000};
  uint64_t backoff_seed = std::random_device{}();
};

struct ReflectorOptions : ReflectorTiming {
  // For log lines: "pod", "service" (lists log "<kind>s"); and fields added
  // to each line (the label selector, say).
  std::string kind = "object";
  LogFields log_fields;
  // Per object, how many delivered resourceVersions to remember for
  // Observe(); 0 turns Observe() off (PodWatcher: no memory per pod).
  size_t observe_window = 0;
};

struct ReflectorStats {
  int lists = 0;          // list calls (first list and relists)
  int relists = 0;        // lists caused by kGone
  int watches = 0;        // watch calls
  int errors = 0;         // failed lists and watches
  int short_watches = 0;  // normal closes too early and without events
};

template <typename Object>
class Reflector {
 public:
  // A watch event, and a change to the cache: kAdded, kModified or kDeleted
  // (with the object as last known). Bookmarks carry only resource_version.
  struct Event {
    WatchEventType type;
    Object object;
  };
  using Change = Event;
  struct List {
    std::vector<Object> items;
    std::string resource_version;
  };
  using Listener = std::function<void(const Change&)>;
  using ListFunction = std::function<StatusOr<List>(const Cancellation&)>;
  // Streams events from the resourceVersion given, with the contract of
  // KubeApi::WatchPods (OK: normal close; kGone: relist; kCancelled).
  using WatchFunction = std::function<Status(
      const std::string&, const std::function<void(const Event&)>&, const Cancellation&)>;

  // `clock` must outlive the reflector.
  Reflector(ListFunction list, WatchFunction watch, ReflectorOptions options,
            const Clock* clock = RealClock::Get());
  ~Reflector();  // Stop()
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Set before Start(); runs on the reflector's thread after each change.
  void SetListener(Listener listener) { listener_ = std::move(listener); }

  // Starts the thread. Once only.
  void Start();
  // Cancels the current request and joins the thread. Idempotent; the
  // reflector cannot be restarted.
  void Stop();

  // One list (when needed) or one watch (which streams until it ends or
  // `cancel` fires). Returns how long to wait before the next step.
  std::chrono::milliseconds Step(const Cancellation& cancel);

  // True once a list has succeeded; the cache is meaningful from then on.
  bool Synced() const;
  // The cached objects, by name.
  std::vector<Object> Snapshot() const;
  std::optional<Object> Get(const std::string& name) const;
  // Bumped after every change to the cache and when first synced.
  uint64_t Generation() const;
  // Waits until Generation() differs from `seen`, the timeout passes or the
  // reflector stops; returns Generation().
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;
  // The last resourceVersion seen (list, event or bookmark).
  std::string ResourceVersion() const;
  // The last failed list or watch, OK after a success.
  Status LastError() const;
  ReflectorStats stats() const;

  // Records `written`, the answer to our own write, at once, so that a
  // reader does not act on the version before it until the watch delivers
  // the event. Ignored when not synced, or when the watch (or a list) has
  // already delivered `written.resource_version` for that name: it is then
  // at or past our write, and taking `written` could move the cache back
  // over a later change. (Events of one object arrive in order, so "not
  // delivered yet" means nothing newer was either.) The watch event for the
  // write later finds the object equal and notifies nothing; any other
  // event overwrites it. Bumps Generation(); does not call the listener.
  // Returns true when the cache took `written`; always false with
  // options.observe_window 0.
  bool Observe(const Object& written);

 private:
  std::optional<Change> ApplyEvent(const Event& event);
  std::vector<Change> ReplaceAll(const List& list);
  // Remembers that the watch or a list delivered `rv` for `name` (mu_ held).
  void DeliveredLocked(const std::string& name, const std::string& rv);
  void Notify(const std::vector<Change>& changes);
  void Run();
  LogFields Fields(LogFields extra) const;

  const ListFunction list_;
  const WatchFunction watch_;
  const ReflectorOptions options_;
  const Clock* const clock_;
  Listener listener_;
  Backoff backoff_;        // used by Step() only
  bool need_list_ = true;  // used by Step() only

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Object> objects_;
  // Per name, the last observe_window resourceVersions the watch or a list
  // delivered (Observe's "already delivered" test).
  std::map<std::string, std::deque<std::string>> delivered_;
  std::string resource_version_;
  bool synced_ = false;
  bool stopped_ = false;
  uint64_t generation_ = 0;
  Status last_error_;
  ReflectorStats stats_;

  Cancellation cancel_;
  std::thread thread_;
};

extern template class Reflector<Pod>;
extern template class Reflector<Service>;

}  // namespace amsha

#endif  // AMS_HA_KUBE_REFLECTOR_H_
