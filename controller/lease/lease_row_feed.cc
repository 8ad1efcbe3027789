#include "lease/lease_row_feed.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"
#include "lease/lease_change_notifier.h"
#include "lease/lease_notification.h"

namespace amsha {
namespace {

// After a failed batched read, when to try those clusters again.
constexpr std::chrono::milliseconds kRetryDelay{1000};

}  // namespace

LeaseRowFeed::LeaseRowFeed(LeaseRowCache* cache, LeaseStore* reader, ListenerFactory listen,
                           const Clock* clock, LeaseRowFeedOptions options, OnChange on_change)
    : cache_(cache),
      reader_(reader),
      listen_(std::move(listen)),
      clock_(clock),
      options_(options),
      on_change_(std::move(on_change)) {}

LeaseRowFeed::~LeaseRowFeed() { Stop(); }

void LeaseRowFeed::SetClusters(const std::vector<FeedCluster>& clusters) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, bool> next;
    for (const FeedCluster& c : clusters) next[c.name] = c.polled;
    for (const auto& [name, polled] : clusters_) {
      if (next.count(name) == 0) cache_->Invalidate(name);  // nobody keeps it current
    }
    for (const auto& [name, polled] : next) {
      if (clusters_.count(name) == 0) reread_.insert(name);
    }
    clusters_ = std::move(next);
  }
  cv_.notify_all();
}

Status LeaseRowFeed::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return Status::Ok();
  stop_ = false;
  listening_ = false;
  resync_notified_ = false;
  read_failing_ = false;
  next_resync_ = next_poll_ = clock_->Now();  // everything at once
  if (listen_) {
    LeaseListener::Callbacks callbacks;
    callbacks.on_listening = [this] { OnListening(); };
    callbacks.on_notification = [this](const std::string& payload) { OnNotification(payload); };
    callbacks.on_lost = [this](const std::string& why) { OnLost(why); };
    auto listener = listen_(std::move(callbacks));
    if (!listener.ok()) return listener.status();
    listener_ = std::move(listener).value();
  }
  running_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void LeaseRowFeed::Stop() {
  std::unique_ptr<LeaseListener> listener;
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stop_ = true;
    listener = std::move(listener_);
    thread = std::move(thread_);
  }
  cv_.notify_all();
  listener.reset();  // joins the listener thread and closes its connection
  thread.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
    listening_ = false;
    ++epoch_;
  }
  cache_->InvalidateAll();  // nobody keeps it current now
}

bool LeaseRowFeed::Running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

bool LeaseRowFeed::Listening() const {
  std::lock_guard<std::mutex> lock(mu_);
  return listening_;
}

void LeaseRowFeed::DropListenConnection() {
  std::lock_guard<std::mutex> lock(mu_);
  if (listener_) listener_->DropConnection();
}

bool LeaseRowFeed::Polled(const std::string& cluster) const {
  auto it = clusters_.find(cluster);
  return !listen_ || (it != clusters_.end() && it->second);
}

std::vector<std::string> LeaseRowFeed::Names(bool notified, bool polled) const {
  std::vector<std::string> out;
  for (const auto& [name, is_polled] : clusters_) {
    const bool p = is_polled || !listen_;
    if ((p && polled) || (!p && notified)) out.push_back(name);
  }
  return out;
}

void LeaseRowFeed::OnListening() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    listening_ = true;
    ++epoch_;
    resync_notified_ = true;
  }
  Log(LogLevel::kInfo, "lease row feed listening for lease changes", {{"channel", kLeaseChannel}});
  cv_.notify_all();
}

void LeaseRowFeed::OnLost(const std::string& why) {
  size_t count = 0;
  {
    // Under mu_, so that no batched read marks them known again after this
    // (ReadBatches applies notified clusters under mu_ too).
    std::lock_guard<std::mutex> lock(mu_);
    listening_ = false;
    ++epoch_;
    std::vector<std::string> notified = Names(/*notified=*/true, /*polled=*/false);
    for (const std::string& name : notified) cache_->Invalidate(name);
    count = notified.size();
  }
  Log(LogLevel::kWarn,
      "lease row feed not listening for lease changes; cluster loops read the database until it"
      " listens again",
      {{"clusters", std::to_string(count)}, {"error", why}});
}

void LeaseRowFeed::OnNotification(const std::string& payload) {
  std::optional<LeaseNotification> n = ParseLeaseNotification(payload);
  if (!n) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (clusters_.count(n->cluster_name) == 0) return;  // not ours
    if (!n->row) reread_.insert(n->cluster_name);
  }
  if (!n->row) {
    cache_->Invalidate(n->cluster_name);
    cv_.notify_all();
    return;
  }
  // A row our own write is putting is no news to the loop that wrote it.
  const bool ours = cache_->Writing(n->row->key);
  if (cache_->Put(*n->row) == LeaseRowCache::PutResult::kChanged && !ours && on_change_) {
    on_change_(n->cluster_name);
  }
}

void LeaseRowFeed::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const MonoTime now = clock_->Now();
    std::set<std::string> due(reread_.begin(), reread_.end());
    reread_.clear();
    if (!retry_.empty() && now >= retry_at_) {
      due.insert(retry_.begin(), retry_.end());
      retry_.clear();
    }
    auto add = [&due](const std::vector<std::string>& names) {
      due.insert(names.begin(), names.end());
    };
    // Notified clusters are worth reading only while listening: otherwise
    // the cache may not serve them anyway.
    if (resync_notified_ || now >= next_resync_) {
      if (listening_) add(Names(/*notified=*/true, /*polled=*/false));
      resync_notified_ = false;
    }
    if (now >= next_resync_) {
      add(Names(/*notified=*/false, /*polled=*/true));
      next_resync_ = now + options_.resync_period;
    }
    if (now >= next_poll_) {
      add(Names(/*notified=*/false, /*polled=*/true));
      next_poll_ = now + options_.poll_interval;
    }
    lock.unlock();
    for (const std::string& name : cache_->ClustersToRefresh(options_.refresh_ahead)) {
      due.insert(name);
    }
    if (!due.empty()) ReadBatches(std::vector<std::string>(due.begin(), due.end()));
    lock.lock();
    cv_.wait_for(lock, options_.tick,
                 [this] { return stop_ || resync_notified_ || !reread_.empty(); });
  }
}

void LeaseRowFeed::ReadBatches(const std::vector<std::string>& names) {
  const size_t batch = std::max<size_t>(1, options_.max_batch);
  for (size_t at = 0; at < names.size(); at += batch) {
    std::vector<std::string> chunk(names.begin() + at,
                                   names.begin() + std::min(names.size(), at + batch));
    uint64_t epoch;
    bool listening;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      epoch = epoch_;
      listening = listening_;
    }
    const MonoTime sent = clock_->Now();
    StatusOr<std::vector<LeaseRecord>> rows = reader_->ReadClusters(chunk);
    std::vector<std::string> polled, notified, changed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!rows.ok()) {
        if (!read_failing_) {
          Log(LogLevel::kWarn, "lease row feed cannot read the lease table; retrying",
              {{"error", rows.status().ToString()}});
        }
        read_failing_ = true;
        // This chunk and the rest again in a second (the cache keeps them
        // unknown, or as they were and kept current by notifications).
        retry_.insert(names.begin() + at, names.end());
        retry_at_ = clock_->Now() + kRetryDelay;
        return;
      }
      read_failing_ = false;
      for (const std::string& name : chunk) {
        if (clusters_.count(name) == 0) continue;  // dropped meanwhile
        (Polled(name) ? polled : notified).push_back(name);
      }
      // A notified cluster is served only if listening held for the whole
      // read: a notification lost meanwhile would leave it stale. Applied
      // under mu_, so neither OnLost nor SetClusters comes between the
      // check and the apply.
      const bool notified_known = listening && listening_ && epoch == epoch_;
      changed = cache_->PutClusters(notified, *rows, sent, notified_known);
      std::vector<std::string> more = cache_->PutClusters(polled, *rows, sent, true);
      changed.insert(changed.end(), more.begin(), more.end());
    }
    if (on_change_) {
      for (const std::string& name : changed) on_change_(name);
    }
  }
}

}  // namespace amsha
