#include "kube/pod_watcher.h"

#include "common/logging.h"

namespace amsha {

using std::chrono::milliseconds;

PodWatcher::PodWatcher(KubeApi* api, Options options, const Clock* clock)
    : api_(api),
      options_(std::move(options)),
      clock_(clock),
      backoff_(options_.initial_backoff, options_.max_backoff, options_.backoff_seed) {}

PodWatcher::~PodWatcher() { Stop(); }

void PodWatcher::Start() {
  if (thread_.joinable() || cancel_.IsCancelled()) return;
  thread_ = std::thread([this] { Run(); });
}

void PodWatcher::Stop() {
  cancel_.Cancel();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

void PodWatcher::Run() {
  while (!cancel_.IsCancelled()) {
    milliseconds delay = Step(cancel_);
    if (delay.count() > 0 && cancel_.WaitFor(delay)) break;
  }
}

milliseconds PodWatcher::Step(const Cancellation& cancel) {
  const std::string& selector = options_.label_selector;
  if (need_list_) {
    StatusOr<PodList> list = api_->ListPods(selector, cancel);
    if (!list.ok() && list.status().code() == StatusCode::kCancelled) return milliseconds(0);
    if (!list.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.lists;
        ++stats_.errors;
        last_error_ = list.status();
      }
      milliseconds delay = backoff_.Next();
      Log(LogLevel::kWarn, "listing pods failed; retrying",
          {{"selector", selector},
           {"error", list.status().ToString()},
           {"retryInMs", std::to_string(delay.count())}});
      return delay;
    }
    std::vector<Change> changes = ReplaceAll(*list);
    need_list_ = false;
    backoff_.Reset();
    Log(LogLevel::kInfo, "pod cache synced",
        {{"selector", selector},
         {"pods", std::to_string(list->items.size())},
         {"resourceVersion", list->resource_version},
         {"changes", std::to_string(changes.size())}});
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
  Status s = api_->WatchPods(
      selector, from,
      [&](const PodWatchEvent& event) {
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
    Log(LogLevel::kInfo, "pod watch expired; listing again",
        {{"selector", selector}, {"resourceVersion", from}, {"reason", s.message()}});
    return milliseconds(0);
  }
  milliseconds delay = backoff_.Next();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
    last_error_ = s;
  }
  Log(LogLevel::kWarn, "pod watch failed; resuming",
      {{"selector", selector},
       {"resourceVersion", ResourceVersion()},
       {"error", s.ToString()},
       {"retryInMs", std::to_string(delay.count())}});
  return delay;
}

std::optional<PodWatcher::Change> PodWatcher::ApplyEvent(const PodWatchEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!event.pod.resource_version.empty()) resource_version_ = event.pod.resource_version;
  std::optional<Change> change;
  switch (event.type) {
    case WatchEventType::kBookmark:
      return std::nullopt;
    case WatchEventType::kAdded:
    case WatchEventType::kModified: {
      // Treated alike: an ADDED for a cached pod (a replayed event) is an
      // update, never a duplicate.
      auto it = pods_.find(event.pod.name);
      if (it == pods_.end()) {
        pods_.emplace(event.pod.name, event.pod);
        change = Change{WatchEventType::kAdded, event.pod};
      } else if (!(it->second == event.pod)) {
        it->second = event.pod;
        change = Change{WatchEventType::kModified, event.pod};
      }
      break;
    }
    case WatchEventType::kDeleted: {
      auto it = pods_.find(event.pod.name);
      if (it != pods_.end()) {
        pods_.erase(it);
        change = Change{WatchEventType::kDeleted, event.pod};
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

std::vector<PodWatcher::Change> PodWatcher::ReplaceAll(const PodList& list) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.lists;
  std::map<std::string, Pod> fresh;
  for (const Pod& pod : list.items) fresh[pod.name] = pod;
  std::vector<Change> changes;
  for (const auto& [name, pod] : pods_) {
    if (!fresh.count(name)) changes.push_back({WatchEventType::kDeleted, pod});
  }
  for (const auto& [name, pod] : fresh) {
    auto it = pods_.find(name);
    if (it == pods_.end()) {
      changes.push_back({WatchEventType::kAdded, pod});
    } else if (!(it->second == pod)) {
      changes.push_back({WatchEventType::kModified, pod});
    }
  }
  pods_ = std::move(fresh);
  resource_version_ = list.resource_version;
  last_error_ = Status::Ok();
  if (!changes.empty() || !synced_) {
    ++generation_;
    cv_.notify_all();
  }
  synced_ = true;
  return changes;
}

void PodWatcher::Notify(const std::vector<Change>& changes) {
  if (!listener_) return;
  for (const Change& change : changes) listener_(change);
}

bool PodWatcher::Synced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

std::vector<Pod> PodWatcher::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Pod> out;
  out.reserve(pods_.size());
  for (const auto& [name, pod] : pods_) out.push_back(pod);
  return out;
}

std::optional<Pod> PodWatcher::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pods_.find(name);
  if (it == pods_.end()) return std::nullopt;
  return it->second;
}

uint64_t PodWatcher::Generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

uint64_t PodWatcher::WaitForChange(uint64_t seen, milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return generation_ != seen || stopped_; });
  return generation_;
}

std::string PodWatcher::ResourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

Status PodWatcher::LastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

PodWatcher::Stats PodWatcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace amsha
