// LeaseRowFeed: keeps a LeaseRowCache current for the clusters of one
// controller, so that their loops read rows from memory instead of the
// database, and tells a cluster's loop when one of its rows changed.
//
// Sources, all batched (one ReadClusters statement per max_batch clusters):
//  - notifications (PostgreSQL: one LISTEN connection through the listener
//    factory, lease/postgres_listener.h): a row payload is Put into the
//    cache; a bare-name payload (an older writer, or a row too big for
//    NOTIFY) makes its cluster unknown and re-read at once;
//  - a re-read of every notified cluster whenever listening (re)starts,
//    since notifications sent meanwhile are lost;
//  - a resync of every cluster each resync_period, as a safety net;
//  - clusters marked `polled` (follow mode: Amoro writes without NOTIFY;
//    every cluster when there is no listener factory, i.e. MySQL) are re-read
//    each poll_interval;
//  - held rows about to pass their cached expiry (their holder renews them
//    silently, as the gate renews its row) are re-read refresh_ahead before,
//    so the cache never has to answer "unknown" for a live row.
// While not listening, the notified clusters are unknown in the cache (the
// loops read through CachingLeaseStore: the old behaviour, degraded but
// correct); the feed logs that once per outage (warn) and Listening() says
// false. The polled clusters stay served.
//
// on_change(cluster) is called when a row of a tracked cluster changed in a
// way its loop must react to (RowChangeMatters in lease/lease_row_cache.h:
// holder or server info, appeared or gone, expired, or any change of the
// SWITCHOVER row); not for renewals, and not for the notification of the
// controller's own write through CachingLeaseStore (already put, or still in
// flight: LeaseRowCache::BeginWrite). It runs on the feed's threads:
// keep it short (wake a worker) and do not call Stop() from it.
//
// Start() opens the listener and the feed's thread; Stop() closes both
// (the feed holds no connection while stopped, e.g. on a standby), makes
// every cluster unknown in the cache, and returns within about a second
// unless a database call is in flight (each is bounded by the store's and
// the listener's connect and statement timeouts). The reads go through
// `reader` (the pool's Shared() store, not a CachingLeaseStore).
// Thread safety: every method from any thread (not from on_change).
#ifndef AMS_HA_LEASE_LEASE_ROW_FEED_H_
#define AMS_HA_LEASE_LEASE_ROW_FEED_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "lease/lease_listener.h"
#include "lease/lease_row_cache.h"
#include "lease/lease_store.h"

namespace amsha {

struct LeaseRowFeedOptions {
  std::chrono::milliseconds resync_period{60000};
  // Polled clusters. `run` sets the smallest heartbeatInterval of the
  // follow-mode clusters, and 1 s on MySQL (every cluster polled).
  std::chrono::milliseconds poll_interval{10000};
  std::chrono::milliseconds refresh_ahead{2000};
  // How often the thread checks for due work; bounds Stop() too.
  std::chrono::milliseconds tick{200};
  size_t max_batch = 1000;  // clusters per ReadClusters call
};

struct FeedCluster {
  std::string name;
  bool polled = false;  // its rows change without NOTIFY (follow mode)
};

class LeaseRowFeed {
 public:
  // Starts a listener with the given callbacks; empty when the engine has
  // none (MySQL): then every cluster is polled.
  using ListenerFactory =
      std::function<StatusOr<std::unique_ptr<LeaseListener>>(LeaseListener::Callbacks)>;
  using OnChange = std::function<void(const std::string& cluster)>;

  // None of the pointers is owned; all outlive the feed.
  LeaseRowFeed(LeaseRowCache* cache, LeaseStore* reader, ListenerFactory listen, const Clock* clock,
               LeaseRowFeedOptions options, OnChange on_change);
  ~LeaseRowFeed();  // Stop()

  LeaseRowFeed(const LeaseRowFeed&) = delete;
  LeaseRowFeed& operator=(const LeaseRowFeed&) = delete;

  // The clusters to keep current (replaces the previous set; new ones are
  // read at once, dropped ones become unknown in the cache).
  void SetClusters(const std::vector<FeedCluster>& clusters);

  // The listener factory's error (e.g. kInvalidArgument) if it fails; OK
  // when already running.
  Status Start();
  void Stop();

  bool Running() const;
  // True while the LISTEN connection is up (always false without one).
  bool Listening() const;
  // Cuts the LISTEN connection, as a broken network would (tests).
  void DropListenConnection();

 private:
  void Run();
  // Reads `names` in batches and applies the results; fires on_change.
  void ReadBatches(const std::vector<std::string>& names);
  void OnListening();
  void OnNotification(const std::string& payload);
  void OnLost(const std::string& why);
  bool Polled(const std::string& cluster) const;                     // under mu_
  std::vector<std::string> Names(bool notified, bool polled) const;  // under mu_

  LeaseRowCache* const cache_;
  LeaseStore* const reader_;
  const ListenerFactory listen_;
  const Clock* const clock_;
  const LeaseRowFeedOptions options_;
  const OnChange on_change_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, bool> clusters_;  // name -> polled
  std::set<std::string> reread_;          // read at the next turn
  std::set<std::string> retry_;           // read at retry_at_ (a read failed)
  MonoTime retry_at_;
  bool running_ = false;
  bool stop_ = false;
  bool listening_ = false;
  bool resync_notified_ = false;
  uint64_t epoch_ = 0;  // bumped whenever listening starts or ends
  MonoTime next_resync_;
  MonoTime next_poll_;
  bool read_failing_ = false;
  std::unique_ptr<LeaseListener> listener_;
  std::thread thread_;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_ROW_FEED_H_
