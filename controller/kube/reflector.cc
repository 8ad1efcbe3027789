#include "kube/reflector.h"

#include <algorithm>

namespace amsha {
using std::chrono::milliseconds;

template <typename Object>
Reflector<Object>::Reflector(ListFunction list, WatchFunction watch, ReflectorOptions options,
                             const Clock* clock)
    : list_(std::move(list)),
      watch_(std::move(watch)),
      options_(std::move(options)),
      clock_(clock),
      backoff_(options_.initial_backoff, options_.max_backoff, options_.backoff_seed) {}

template <typename Object>
Reflector<Object>::~Reflector() {
  Stop();
}

template <typename Object>
void Reflector<Object>::Start() {
  if (thread_.joinable() || cancel_.IsCancelled()) return;
  thread_ = std::thread([this] { Run(); });
}

template <typename Object>
void Reflector<Object>::Stop() {
  cancel_.Cancel();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

template <typename Object>
void Reflector<Object>::Run() {
  while (!cancel_.IsCancelled()) {
    milliseconds delay = Step(cancel_);
    if (delay.count() > 0 && cancel_.WaitFor(delay)) break;
  }
}

template <typename Object>
LogFields Reflector<Object>::Fields(LogFields extra) const {
  LogFields out = options_.log_fields;
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

template <typename Object>
milliseconds Reflector<Object>::Step(const Cancellation& cancel) {
  const std::string& kind = options_.kind;
  if (need_list_) {
    StatusOr<List> list = list_(cancel);
    if (!list.ok() && list.status().code() == StatusCode::kCancelled) return milliseconds(0);
    if (!list.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.lists;
        ++stats_.errors;
        last_error_ = list.status();
      }
      milliseconds delay = backoff_.Next();
      Log(LogLevel::kWarn, "listing " + kind + "s failed; retrying",
          Fields(
              {{"error", list.status().ToString()}, {"retryInMs", std::to_string(delay.count())}}));
      return delay;
    }
    std::vector<Change> changes = ReplaceAll(*list);
    need_list_ = false;
    backoff_.Reset();
    Log(LogLevel::kInfo, kind + " cache synced",
        Fields({{kind + "s", std::to_string(list->items.size())},
                {"resourceVersion", list->resource_version},
                {"changes", std::to_string(changes.size())}}));
    Notify(changes);
    return milliseconds(0);
  }

  std::string from = ResourceVersion();
  int events = 0;
  MonoTime started = clock_->Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.watches;
  }
  Status s = watch_(
      from,
      [&](const Event& event) {
        ++events;
        std::optional<Change> change = ApplyEvent(event);
        if (change) Notify({*change});
      },
      cancel);
  if (events > 0) backoff_.Reset();

  if (s.ok()) {
    if (events == 0 && clock_->Now() - started < options_.min_watch_duration) {
      milliseconds delay = backoff_.Next();
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.short_watches;
      return delay;
    }
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = Status::Ok();
    return milliseconds(0);
  }
  if (s.code() == StatusCode::kCancelled) return milliseconds(0);
  if (s.code() == StatusCode::kGone) {
    // Our resourceVersion fell out of the server's window: only a new list
    // can tell what changed meanwhile. Relist at once, as client-go does.
    need_list_ = true;
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.relists;
    Log(LogLevel::kInfo, kind + " watch expired; listing again",
        Fields({{"resourceVersion", from}, {"reason", s.message()}}));
    return milliseconds(0);
  }
  milliseconds delay = backoff_.Next();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
    last_error_ = s;
  }
  Log(LogLevel::kWarn, kind + " watch failed; resuming",
      Fields({{"resourceVersion", ResourceVersion()},
              {"error", s.ToString()},
              {"retryInMs", std::to_string(delay.count())}}));
  return delay;
}

template <typename Object>
void Reflector<Object>::DeliveredLocked(const std::string& name, const std::string& rv) {
  if (options_.observe_window == 0) return;
  std::deque<std::string>& seen = delivered_[name];
  seen.push_back(rv);
  while (seen.size() > options_.observe_window) seen.pop_front();
}

template <typename Object>
std::optional<typename Reflector<Object>::Change> Reflector<Object>::ApplyEvent(
    const Event& event) {
  std::lock_guard<std::mutex> lock(mu_);
  const Object& object = event.object;
  if (!object.resource_version.empty()) resource_version_ = object.resource_version;
  std::optional<Change> change;
  switch (event.type) {
    case WatchEventType::kBookmark:
      return std::nullopt;
    case WatchEventType::kAdded:
    case WatchEventType::kModified: {
      // Treated alike: an ADDED for a cached object (a replayed event) is
      // an update, never a duplicate.
      DeliveredLocked(object.name, object.resource_version);
      auto it = objects_.find(object.name);
      if (it == objects_.end()) {
        objects_.emplace(object.name, object);
        change = Change{WatchEventType::kAdded, object};
      } else if (!(it->second == object)) {
        it->second = object;
        change = Change{WatchEventType::kModified, object};
      }
      break;
    }
    case WatchEventType::kDeleted: {
      // Kept (with the deletion's version): an Observe() of a write made
      // before the deletion must not bring the object back.
      DeliveredLocked(object.name, object.resource_version);
      auto it = objects_.find(object.name);
      if (it != objects_.end()) {
        objects_.erase(it);
        change = Change{WatchEventType::kDeleted, object};
      }
      break;
    }
  }
  if (change) {
    ++generation_;
    cv_.notify_all();
  }
  return change;
}

template <typename Object>
std::vector<typename Reflector<Object>::Change> Reflector<Object>::ReplaceAll(const List& list) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.lists;
  std::map<std::string, Object> fresh;
  for (const Object& object : list.items) fresh[object.name] = object;
  std::vector<Change> changes;
  for (const auto& [name, object] : objects_) {
    if (!fresh.count(name)) changes.push_back({WatchEventType::kDeleted, object});
  }
  delivered_.clear();
  for (const auto& [name, object] : fresh) {
    DeliveredLocked(name, object.resource_version);
    auto it = objects_.find(name);
    if (it == objects_.end()) {
      changes.push_back({WatchEventType::kAdded, object});
    } else if (!(it->second == object)) {
      changes.push_back({WatchEventType::kModified, object});
    }
  }
  objects_ = std::move(fresh);
  resource_version_ = list.resource_version;
  last_error_ = Status::Ok();
  if (!changes.empty() || !synced_) {
    ++generation_;
    cv_.notify_all();
  }
  synced_ = true;
  return changes;
}

template <typename Object>
bool Reflector<Object>::Observe(const Object& written) {
  std::lock_guard<std::mutex> lock(mu_);
  if (options_.observe_window == 0 || !synced_ || written.name.empty() ||
      written.resource_version.empty()) {
    return false;
  }
  auto seen = delivered_.find(written.name);
  if (seen != delivered_.end() && std::find(seen->second.begin(), seen->second.end(),
                                            written.resource_version) != seen->second.end()) {
    return false;
  }
  auto it = objects_.find(written.name);
  if (it != objects_.end() && it->second == written) return false;
  objects_[written.name] = written;
  ++generation_;
  cv_.notify_all();
  return true;
}

template <typename Object>
void Reflector<Object>::Notify(const std::vector<Change>& changes) {
  if (!listener_) return;
  for (const Change& change : changes) listener_(change);
}

template <typename Object>
bool Reflector<Object>::Synced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

template <typename Object>
std::vector<Object> Reflector<Object>::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Object> out;
  out.reserve(objects_.size());
  for (const auto& [name, object] : objects_) out.push_back(object);
  return out;
}

template <typename Object>
std::optional<Object> Reflector<Object>::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

template <typename Object>
uint64_t Reflector<Object>::Generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

template <typename Object>
uint64_t Reflector<Object>::WaitForChange(uint64_t seen, milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return generation_ != seen || stopped_; });
  return generation_;
}

template <typename Object>
std::string Reflector<Object>::ResourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

template <typename Object>
Status Reflector<Object>::LastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

template <typename Object>
ReflectorStats Reflector<Object>::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

template class Reflector<Pod>;
template class Reflector<Service>;

}  // namespace amsha
