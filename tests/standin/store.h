// Store: the stand-in's objects (pods, services, events, any plural
// resource) with one global resourceVersion counter, a bounded window of past
// watch events per resource, the open watches, graceful pod deletion, and
// two records for tests: every change of what a Service's selector matches,
// and every Event created.
//
// Semantics follow the API server: every write bumps the counter and stamps
// metadata.resourceVersion; an update whose object carries a stale
// resourceVersion fails with 409 Conflict; a no-op update writes nothing;
// deleting a pod with a grace period first sets deletionTimestamp (a
// MODIFIED event) and removes it when the grace ends (DELETED).
// Callers: the API and admin handlers (any thread), the forwarder.
// Thread-safe: one mutex guards everything; watch queues have their own lock
// and are filled under the store's lock, so a bookmark's resourceVersion
// never runs ahead of an event a watch has not been given.
#ifndef AMS_HA_TESTS_STANDIN_STORE_H_
#define AMS_HA_TESTS_STANDIN_STORE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "standin/api_error.h"
#include "standin/field_owners.h"
#include "standin/json_util.h"
#include "standin/label_selector.h"

namespace amsha::standin {

struct StoredEvent {
  uint64_t rv = 0;
  std::string type;  // ADDED, MODIFIED, DELETED
  std::string ns;
  Json object;
  Json prev;  // the object before a MODIFIED or DELETED; null for ADDED
};

// The events of one open watch, in order.
class WatchQueue {
 public:
  // Waits up to `timeout` for events or a cut and returns what is queued.
  std::vector<StoredEvent> Wait(std::chrono::milliseconds timeout);
  bool Cut() const;

 private:
  friend class Store;
  std::string resource_;
  std::string ns_;  // "" = all namespaces
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StoredEvent> events_;
  bool cut_ = false;
};

struct SelectorRecordEntry {
  int64_t ts_ms = 0;
  int64_t mono_ns = 0;
  std::string ns;
  std::string service;
  LabelMap selector;
  std::vector<std::string> matched;        // every pod the selector matches
  std::vector<std::string> matched_ready;  // of those, Ready and not terminating
};

struct ServicePortInfo {
  std::string ns;
  std::string service;
  std::string name;
  int port = 0;
  Json target_port;  // number or container port name
};

struct Backend {
  std::string pod;
  std::string ip;
  int port = 0;
};

class Store {
 public:
  using Mutation = std::function<ApiError(Json* obj)>;
  using Filter = std::function<bool(const Json& obj)>;

  explicit Store(size_t event_window);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // `manager`: the field manager of the write (fieldManager, or the
  // client's User-Agent), for server-side apply's field ownership.
  ApiError Create(const std::string& resource, const std::string& ns, Json obj, Json* out,
                  const std::string& manager = "");
  ApiError Get(const std::string& resource, const std::string& ns, const std::string& name,
               Json* out);
  // ns "" lists every namespace. *rv is the list's resourceVersion.
  void List(const std::string& resource, const std::string& ns, const Filter& filter,
            std::vector<Json>* items, std::string* rv);
  // Runs `mutate` on a copy of the object and stores the result.
  ApiError Update(const std::string& resource, const std::string& ns, const std::string& name,
                  const Mutation& mutate, Json* out, const std::string& manager = "");
  // Server-side apply of `config` by `manager` (see field_owners.h); creates
  // the object when it does not exist (*created = true).
  ApiError Apply(const std::string& resource, const std::string& ns, const std::string& name,
                 const Json& config, const std::string& manager, bool force, Json* out,
                 bool* created);
  // The managers owning a field of an object ("/spec/selector/x"), for tests.
  std::set<std::string> FieldManagers(const std::string& resource, const std::string& ns,
                                      const std::string& name, const std::string& path);
  // grace: nullopt = the pod's terminationGracePeriodSeconds (default 30);
  // only pods are deleted gracefully.
  ApiError Delete(const std::string& resource, const std::string& ns, const std::string& name,
                  std::optional<int64_t> grace_seconds, Json* out);

  // Opens a watch from `since` ("" or "0": every current object as ADDED
  // first). A `since` older than the event window is 410 Expired.
  ApiError Watch(const std::string& resource, const std::string& ns, const std::string& since,
                 std::shared_ptr<WatchQueue>* queue, std::vector<StoredEvent>* backlog);
  void Unwatch(const std::shared_ptr<WatchQueue>& queue);
  // The resourceVersion a bookmark may carry, or "" while events are pending.
  std::string BookmarkRv(WatchQueue& queue);
  void CutWatches();
  // Drops every event window: any resume from before now gets 410.
  void Compact();

  std::vector<Json> All(const std::string& resource);
  std::vector<SelectorRecordEntry> SelectorRecord();
  std::vector<Json> CreatedEvents();
  std::vector<ServicePortInfo> ServicePorts();
  // A pod for a connection to ns/service:port: Ready and not terminating
  // first, then Ready and terminating (like kube-proxy), round robin.
  std::optional<Backend> PickBackend(const std::string& ns, const std::string& service, int port);
  // Called (outside the lock) after every write to a Service.
  void OnServicesChanged(std::function<void()> callback);

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // resource, ns, name

  uint64_t NextRvLocked();
  void EmitLocked(const std::string& resource, const std::string& type, const std::string& ns,
                  const Json& object, const Json& prev);
  // After a write of resource/ns/name: records the Services whose matched
  // pods may have changed (only those, so that thousands of Services and
  // pods cost one Service's recount per write, not all of them).
  void AfterWriteLocked(const std::string& resource, const std::string& ns,
                        const std::string& name);
  void RecordSelectorsLocked(const std::string& resource, const std::string& ns,
                             const std::string& name);
  void RemoveLocked(const Key& key, Json* out);
  ApiError CreateLocked(const std::string& resource, const std::string& ns, Json obj, Json* out,
                        Key* key);
  ApiError UpdateImpl(const std::string& resource, const std::string& ns, const std::string& name,
                      const Mutation& mutate, Json* out, const std::string& manager,
                      const Json* apply, bool force);
  void NotifyServices(const std::string& resource);
  void ReaperLoop();

  const size_t event_window_;
  std::mutex mu_;
  uint64_t rv_ = 0;
  std::map<Key, Json> objects_;
  std::map<Key, FieldOwners> owners_;
  std::map<std::string, std::deque<StoredEvent>> windows_;
  std::map<std::string, uint64_t> compacted_rv_;
  std::vector<std::shared_ptr<WatchQueue>> watches_;
  std::map<std::pair<std::string, std::string>, SelectorRecordEntry> last_selector_state_;
  std::vector<SelectorRecordEntry> selector_record_;
  std::vector<Json> created_events_;
  std::map<Key, std::chrono::steady_clock::time_point> pending_removals_;
  std::map<std::pair<std::string, std::string>, uint64_t> round_robin_;
  std::function<void()> services_changed_;

  std::condition_variable reaper_cv_;
  bool stopping_ = false;
  std::thread reaper_;
};

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_STORE_H_
