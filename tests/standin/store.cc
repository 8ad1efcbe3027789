#include "standin/store.h"

#include <algorithm>

#include "standin/validation.h"

namespace amsha::standin {
namespace {

using Clock = std::chrono::steady_clock;

// A DELETED event for an object that stops matching carries the previous
// content, like the API server's watch cache; the rv is the event's.
std::string RvOf(const Json& obj) { return StringField(obj, {"metadata", "resourceVersion"}); }

bool ParseRv(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::stoull(s);
  return true;
}

// What an update (PUT or PATCH) may not change, as the API server enforces
// it. Returns the error, or fills what the server keeps from the stored
// object into *next.
ApiError KeepImmutableFields(const std::string& resource, const Json& current, Json* next) {
  Json& meta = MutableField(*next, {"metadata"});
  std::string name = StringField(current, {"metadata", "name"});
  std::string ns = StringField(current, {"metadata", "namespace"});
  // checkName (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go):
  // the object's name must be the one in the URL.
  std::string next_name = StringField(meta, {"name"});
  if (next_name != name) {
    return BadRequest("the name of the object (" + next_name +
                      ") does not match the name on the URL (" + name + ")");
  }
  // EnsureObjectNamespaceMatchesRequestNamespace
  // (staging/src/k8s.io/apiserver/pkg/registry/rest/meta.go): empty means
  // the request's namespace; another one is refused.
  std::string next_ns = StringField(meta, {"namespace"});
  if (!next_ns.empty() && next_ns != ns) {
    return BadRequest(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  meta["namespace"] = Json::string(ns);
  // ValidateObjectMetaUpdate
  // (staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go):
  // uid is immutable; BeforeUpdate (staging/src/k8s.io/apiserver/pkg/
  // registry/rest/update.go) fills an empty uid from the stored object.
  std::string uid = StringField(current, {"metadata", "uid"});
  std::string next_uid = StringField(meta, {"uid"});
  if (!next_uid.empty() && next_uid != uid) {
    return Invalid(KindOf(resource), name,
                   {{"metadata.uid", "Invalid value: \"" + next_uid + "\": field is immutable"}});
  }
  // BeforeUpdate also silently keeps the creation and deletion timestamps
  // and the grace period: a client cannot change them by an update.
  for (const char* field :
       {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"}) {
    Json v = Field(current, {"metadata", field});
    if (v.is_null()) {
      if (meta.has_field(field)) meta.erase(field);
    } else {
      meta[field] = v;
    }
  }
  if (resource == "services") {
    // The Service REST storage copies allocated cluster IPs into an update
    // that leaves them out (patchAllocatedValues in
    // pkg/registry/core/service/storage/storage.go); changing them is
    // validateUpgradeDowngradeClusterIPs' "may not change once set"
    // (pkg/apis/core/validation/validation.go).
    Json old_ips = Field(current, {"spec", "clusterIPs"});
    std::string old_ip = StringField(current, {"spec", "clusterIP"});
    Json& spec = MutableField(*next, {"spec"});
    std::string new_ip = StringField(spec, {"clusterIP"});
    Json new_ips = Field(spec, {"clusterIPs"});
    if (new_ip.empty() && (new_ips.is_null() || new_ips.size() == 0)) {
      if (!old_ip.empty()) spec["clusterIP"] = Json::string(old_ip);
      if (!old_ips.is_null()) spec["clusterIPs"] = old_ips;
    } else {
      std::string first_new = new_ips.is_array() && new_ips.size() > 0 && new_ips.at(0).is_string()
                                  ? new_ips.at(0).as_string()
                                  : new_ip;
      if (!old_ip.empty() && (first_new != old_ip || (!new_ip.empty() && new_ip != old_ip))) {
        std::string shown = new_ip.empty() ? first_new : new_ip;
        return Invalid("Service", name,
                       {{"spec.clusterIPs[0]",
                         "Invalid value: []string{\"" + shown + "\"}: may not change once set"}});
      }
      if (new_ips.is_null() && !old_ips.is_null()) spec["clusterIPs"] = old_ips;
    }
  }
  (*next)["kind"] = current.at("kind");
  (*next)["apiVersion"] = current.at("apiVersion");
  return Ok();
}

}  // namespace

std::vector<StoredEvent> WatchQueue::Wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return cut_ || !events_.empty(); });
  std::vector<StoredEvent> out(events_.begin(), events_.end());
  events_.clear();
  return out;
}

bool WatchQueue::Cut() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cut_;
}

Store::Store(size_t event_window) : event_window_(event_window) {
  reaper_ = std::thread([this] { ReaperLoop(); });
}

Store::~Store() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  reaper_cv_.notify_all();
  reaper_.join();
}

uint64_t Store::NextRvLocked() { return ++rv_; }

void Store::EmitLocked(const std::string& resource, const std::string& type, const std::string& ns,
                       const Json& object, const Json& prev) {
  StoredEvent ev{rv_, type, ns, object, prev};
  auto& window = windows_[resource];
  window.push_back(ev);
  while (window.size() > event_window_) {
    compacted_rv_[resource] = window.front().rv;
    window.pop_front();
  }
  for (auto& w : watches_) {
    if (w->resource_ != resource || (!w->ns_.empty() && w->ns_ != ns)) continue;
    {
      std::lock_guard<std::mutex> lock(w->mu_);
      w->events_.push_back(ev);
    }
    w->cv_.notify_all();
  }
}

void Store::AfterWriteLocked(const std::string& resource, const std::string& ns,
                             const std::string& name) {
  if (resource == "pods" || resource == "services") RecordSelectorsLocked(resource, ns, name);
}

void Store::NotifyServices(const std::string& resource) {
  if (resource != "services") return;
  std::function<void()> cb;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cb = services_changed_;
  }
  if (cb) cb();
}

ApiError Store::CreateLocked(const std::string& resource, const std::string& ns, Json obj,
                             Json* out, Key* key_out) {
  if (!obj.is_object()) return BadRequest("the request body must be a JSON object");
  // Top-level fields first: adding a member may move the others, so no
  // reference into `obj` is held across an insertion.
  obj["kind"] = Json::string(KindOf(resource));
  obj["apiVersion"] = Json::string("v1");
  ApplyDefaults(resource, &obj);
  if (!obj.has_field("metadata") || !obj.at("metadata").is_object()) {
    obj["metadata"] = Json::object();
  }
  Json& meta = obj.at("metadata");
  std::string body_ns = StringField(meta, {"namespace"});
  if (!body_ns.empty() && body_ns != ns) {
    return BadRequest(
        "the namespace of the provided object does not match the namespace sent on "
        "the request");
  }
  std::string name = StringField(meta, {"name"});
  std::string generate = StringField(meta, {"generateName"});
  if (name.empty() && !generate.empty()) name = generate + RandomSuffix(5);
  meta["name"] = Json::string(name);
  meta["namespace"] = Json::string(ns);
  for (const char* f : {"deletionTimestamp", "deletionGracePeriodSeconds"}) {
    if (meta.has_field(f)) meta.erase(f);
  }
  meta["uid"] = Json::string(RandomUid());
  meta["creationTimestamp"] = Json::string(NowRfc3339());
  meta["resourceVersion"] = Json::string("");
  ApiError invalid = ValidateObject(resource, obj);
  if (!invalid.ok()) return invalid;
  Key key{resource, ns, name};
  if (objects_.count(key)) return AlreadyExists(resource, name);
  obj["metadata"]["resourceVersion"] = Json::string(std::to_string(NextRvLocked()));
  objects_[key] = obj;
  owners_.erase(key);
  if (resource == "events") created_events_.push_back(obj);
  EmitLocked(resource, "ADDED", ns, obj, Json::null());
  AfterWriteLocked(resource, ns, name);
  *out = obj;
  *key_out = key;
  return Ok();
}

ApiError Store::Create(const std::string& resource, const std::string& ns, Json obj, Json* out,
                       const std::string& manager) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Key key;
    ApiError err = CreateLocked(resource, ns, std::move(obj), out, &key);
    if (!err.ok()) return err;
    owners_[key].RecordUpdate(manager, Json::null(), *out);
  }
  NotifyServices(resource);
  return Ok();
}

ApiError Store::Apply(const std::string& resource, const std::string& ns, const std::string& name,
                      const Json& config, const std::string& manager, bool force, Json* out,
                      bool* created) {
  *created = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!objects_.count(Key{resource, ns, name})) {
      if (StringField(config, {"metadata", "name"}) != name) {
        return BadRequest("the name of the object (" + StringField(config, {"metadata", "name"}) +
                          ") does not match the name on the URL (" + name + ")");
      }
      Key key;
      ApiError err = CreateLocked(resource, ns, config, out, &key);
      if (!err.ok()) return err;
      FieldOwners owners;
      Json copy = *out;
      owners.Apply(KindOf(resource), manager, config, true, &copy);
      owners_[key] = owners;
      *created = true;
    }
  }
  if (*created) {
    NotifyServices(resource);
    return Ok();
  }
  return UpdateImpl(
      resource, ns, name, [](Json*) { return Ok(); }, out, manager, &config, force);
}

std::set<std::string> Store::FieldManagers(const std::string& resource, const std::string& ns,
                                           const std::string& name, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = owners_.find(Key{resource, ns, name});
  return it == owners_.end() ? std::set<std::string>() : it->second.OwnersOf(path);
}

ApiError Store::Get(const std::string& resource, const std::string& ns, const std::string& name,
                    Json* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(Key{resource, ns, name});
  if (it == objects_.end()) return NotFound(resource, name);
  *out = it->second;
  return Ok();
}

void Store::List(const std::string& resource, const std::string& ns, const Filter& filter,
                 std::vector<Json>* items, std::string* rv) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, obj] : objects_) {
    if (std::get<0>(key) != resource || (!ns.empty() && std::get<1>(key) != ns)) continue;
    if (!filter || filter(obj)) items->push_back(obj);
  }
  *rv = std::to_string(rv_);
}

ApiError Store::Update(const std::string& resource, const std::string& ns, const std::string& name,
                       const Mutation& mutate, Json* out, const std::string& manager) {
  return UpdateImpl(resource, ns, name, mutate, out, manager, nullptr, false);
}

ApiError Store::UpdateImpl(const std::string& resource, const std::string& ns,
                           const std::string& name, const Mutation& mutate, Json* out,
                           const std::string& manager, const Json* apply, bool force) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Key key{resource, ns, name};
    auto it = objects_.find(key);
    if (it == objects_.end()) return NotFound(resource, name);
    const Json current = it->second;
    Json next = current;
    FieldOwners owners = owners_[key];
    ApiError err =
        apply ? owners.Apply(KindOf(resource), manager, *apply, force, &next) : mutate(&next);
    if (!err.ok()) return err;
    if (!next.is_object()) return BadRequest("the object must be a JSON object");
    Json next_rv = Field(next, {"metadata", "resourceVersion"});
    if (next_rv.is_string() && !next_rv.as_string().empty() &&
        next_rv.as_string() != RvOf(current)) {
      return Conflict(resource, name);
    }
    ApiError immutable = KeepImmutableFields(resource, current, &next);
    if (!immutable.ok()) return immutable;
    next["metadata"]["resourceVersion"] = Json::string(RvOf(current));
    if (next == current) {
      if (apply) owners_[key] = owners;  // an apply of the same values still takes ownership
      *out = current;
      return Ok();
    }
    ApiError invalid = ValidateObject(resource, next);
    if (!invalid.ok()) return invalid;
    if (!apply) owners.RecordUpdate(manager, current, next);
    owners_[key] = owners;
    next["metadata"]["resourceVersion"] = Json::string(std::to_string(NextRvLocked()));
    it->second = next;
    EmitLocked(resource, "MODIFIED", ns, next, current);
    AfterWriteLocked(resource, ns, name);
    *out = next;
  }
  NotifyServices(resource);
  return Ok();
}

void Store::RemoveLocked(const Key& key, Json* out) {
  auto it = objects_.find(key);
  Json prev = it->second;
  Json last = prev;
  last["metadata"]["resourceVersion"] = Json::string(std::to_string(NextRvLocked()));
  objects_.erase(it);
  owners_.erase(key);
  pending_removals_.erase(key);
  EmitLocked(std::get<0>(key), "DELETED", std::get<1>(key), last, prev);
  AfterWriteLocked(std::get<0>(key), std::get<1>(key), std::get<2>(key));
  if (out) *out = last;
}

ApiError Store::Delete(const std::string& resource, const std::string& ns, const std::string& name,
                       std::optional<int64_t> grace_seconds, Json* out) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Key key{resource, ns, name};
    auto it = objects_.find(key);
    if (it == objects_.end()) return NotFound(resource, name);
    int64_t grace = 0;
    if (resource == "pods") {
      Json spec_grace = Field(it->second, {"spec", "terminationGracePeriodSeconds"});
      grace =
          grace_seconds.value_or(spec_grace.is_integer() ? spec_grace.as_number().to_int64() : 30);
    }
    auto deadline = Clock::now() + std::chrono::seconds(std::max<int64_t>(grace, 0));
    if (grace <= 0) {
      RemoveLocked(key, out);
    } else if (Terminating(it->second)) {
      // A second delete may only shorten the grace period.
      auto pending = pending_removals_.find(key);
      if (pending != pending_removals_.end() && deadline < pending->second) {
        pending->second = deadline;
        reaper_cv_.notify_all();
      }
      *out = it->second;
    } else {
      Json prev = it->second;
      Json& meta = it->second["metadata"];
      meta["deletionTimestamp"] = Json::string(Rfc3339(std::time(nullptr) + grace));
      meta["deletionGracePeriodSeconds"] = Json::number(static_cast<int64_t>(grace));
      meta["resourceVersion"] = Json::string(std::to_string(NextRvLocked()));
      pending_removals_[key] = deadline;
      EmitLocked(resource, "MODIFIED", ns, it->second, prev);
      AfterWriteLocked(resource, ns, name);
      *out = it->second;
      reaper_cv_.notify_all();
    }
  }
  NotifyServices(resource);
  return Ok();
}

void Store::ReaperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto now = Clock::now();
    auto next = now + std::chrono::hours(1);
    std::vector<Key> due;
    for (const auto& [key, when] : pending_removals_) {
      if (when <= now) {
        due.push_back(key);
      } else {
        next = std::min(next, when);
      }
    }
    for (const auto& key : due) {
      if (objects_.count(key)) RemoveLocked(key, nullptr);
      pending_removals_.erase(key);
    }
    reaper_cv_.wait_until(lock, next);
  }
}

ApiError Store::Watch(const std::string& resource, const std::string& ns, const std::string& since,
                      std::shared_ptr<WatchQueue>* queue, std::vector<StoredEvent>* backlog) {
  std::lock_guard<std::mutex> lock(mu_);
  if (since.empty() || since == "0") {
    for (const auto& [key, obj] : objects_) {
      if (std::get<0>(key) != resource || (!ns.empty() && std::get<1>(key) != ns)) continue;
      uint64_t rv = 0;
      ParseRv(RvOf(obj), &rv);
      backlog->push_back({rv, "ADDED", std::get<1>(key), obj, Json::null()});
    }
    std::sort(backlog->begin(), backlog->end(),
              [](const StoredEvent& a, const StoredEvent& b) { return a.rv < b.rv; });
  } else {
    uint64_t from = 0;
    if (!ParseRv(since, &from)) return BadRequest("invalid resource version \"" + since + "\"");
    uint64_t compacted = compacted_rv_[resource];
    if (from < compacted) {
      return Expired("too old resource version: " + since + " (" + std::to_string(compacted) + ")");
    }
    for (const auto& ev : windows_[resource]) {
      if (ev.rv > from && (ns.empty() || ev.ns == ns)) backlog->push_back(ev);
    }
  }
  auto q = std::make_shared<WatchQueue>();
  q->resource_ = resource;
  q->ns_ = ns;
  watches_.push_back(q);
  *queue = q;
  return Ok();
}

void Store::Unwatch(const std::shared_ptr<WatchQueue>& queue) {
  std::lock_guard<std::mutex> lock(mu_);
  watches_.erase(std::remove(watches_.begin(), watches_.end(), queue), watches_.end());
}

std::string Store::BookmarkRv(WatchQueue& queue) {
  std::lock_guard<std::mutex> lock(mu_);
  std::lock_guard<std::mutex> qlock(queue.mu_);
  return queue.events_.empty() ? std::to_string(rv_) : std::string();
}

void Store::CutWatches() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& w : watches_) {
    {
      std::lock_guard<std::mutex> qlock(w->mu_);
      w->cut_ = true;
    }
    w->cv_.notify_all();
  }
  watches_.clear();
}

void Store::Compact() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [resource, window] : windows_) window.clear();
  for (const char* r : {"pods", "services", "events"}) windows_[r];
  for (auto& [resource, window] : windows_) compacted_rv_[resource] = rv_;
}

std::vector<Json> Store::All(const std::string& resource) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Json> out;
  for (const auto& [key, obj] : objects_) {
    if (std::get<0>(key) == resource) out.push_back(obj);
  }
  return out;
}

std::vector<Json> Store::CreatedEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  return created_events_;
}

void Store::OnServicesChanged(std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  services_changed_ = std::move(callback);
}

}  // namespace amsha::standin
