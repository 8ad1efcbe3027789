// LeaseRowCache: what this process last knew of each `ha_lease` row, so that
// a controller of many clusters need not read rows that only change through
// its own writes or through writes it is told of (NOTIFY, polling).
//
// Per key it holds the last known row, "known absent", or "unknown" (ask
// the database), plus the local monotonic time (the injected Clock) at which
// the row's db_now_ms was true. Get() projects db_now_ms forward by the local
// time elapsed since, so Expired() and ExpiresInMs() stay right without a
// read. Filled by CachingLeaseStore (lease/caching_lease_store.h: results of
// reads and writes) and kept current by LeaseRowFeed (lease/lease_row_feed.h:
// notifications, batched reads).
//
// A cluster is served from the cache only while it is "known": after a
// ReadClusters of it applied with PutClusters(..., mark_known = true), until
// Invalidate(cluster) (the feed stopped listening, or stopped). Rules that
// keep it correct:
//  - Put() ignores a row older than the cached one (lower version, or the
//    same version with an older updated_at): results and notifications may
//    arrive out of order;
//  - a batched read applies only where nothing newer was put or
//    invalidated after it was sent (`read_started`);
//  - a held row that was live when recorded but whose projected expiry has
//    passed is "unknown": its holder may have renewed it silently (renewals
//    send no NOTIFY), so only the database can say whether it expired.
// Thread safety: all methods are safe from any thread.
#ifndef AMS_HA_LEASE_LEASE_ROW_CACHE_H_
#define AMS_HA_LEASE_LEASE_ROW_CACHE_H_

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "lease/lease_record.h"

namespace amsha {

// Whether the change from `before` to `after` (none: no row) is one a
// cluster's loop must react to: a row appeared or disappeared; node_id,
// node_ip or server_info_json differ; the row went from live to expired or
// back (each judged at its own db_now_ms); or any change of a
// kSwitchoverServiceName row. Not a renewal that only moves version, expiry
// and updated_at.
bool RowChangeMatters(const std::optional<LeaseRecord>& before,
                      const std::optional<LeaseRecord>& after);

class LeaseRowCache {
 public:
  explicit LeaseRowCache(const Clock* clock);

  LeaseRowCache(const LeaseRowCache&) = delete;
  LeaseRowCache& operator=(const LeaseRowCache&) = delete;

  struct Cached {
    bool known = false;              // false: ask the database
    std::optional<LeaseRecord> row;  // when known: the row, or none (no such row)
  };
  // The row with db_now_ms projected to now, "absent", or unknown.
  Cached Get(const LeaseKey& key) const;

  enum class PutResult {
    kStale,    // older than the cached row: ignored
    kSame,     // the cached row itself (e.g. the NOTIFY of our own write)
    kRenewed,  // newer, but RowChangeMatters says no
    kChanged,  // newer and it matters, or nothing was known of the key
  };
  // A row as a statement (or its notification) returned it, true now.
  PutResult Put(const LeaseRecord& record);
  // A read of `key` sent at `read_started` found no row.
  void PutAbsent(const LeaseKey& key, MonoTime read_started);
  // The result of ReadClusters(`clusters`) sent at `read_started`: rows of
  // other clusters are ignored, cached keys of `clusters` missing from
  // `rows` become absent. With `mark_known` the clusters are served from
  // then on. Returns the clusters in which some row changed in a way that
  // matters (RowChangeMatters; a key nothing was known of counts when it
  // has a row now).
  std::vector<std::string> PutClusters(const std::vector<std::string>& clusters,
                                       const std::vector<LeaseRecord>& rows, MonoTime read_started,
                                       bool mark_known);

  // The key is unknown until a read or write result is put again.
  void InvalidateKey(const LeaseKey& key);
  // The cluster is not served until the next PutClusters(mark_known) of it.
  void Invalidate(const std::string& cluster);
  void InvalidateAll();
  bool Known(const std::string& cluster) const;

  // Marks a write of `key` by this process in flight (CachingLeaseStore),
  // from before it is sent until its result is put: its NOTIFY can arrive
  // before that, and must not count as someone else's change
  // (LeaseRowFeed). Calls nest.
  void BeginWrite(const LeaseKey& key);
  void EndWrite(const LeaseKey& key);
  bool Writing(const LeaseKey& key) const;

  // Known clusters with a key that is unknown, or a held row that will pass
  // its projected expiry within `ahead` (see the silent renewals above) and
  // was put at least ahead/4 ago: a batched read of them keeps Get() from
  // answering "unknown".
  std::vector<std::string> ClustersToRefresh(std::chrono::milliseconds ahead) const;

 private:
  struct Entry {
    bool known = false;
    std::optional<LeaseRecord> row;
    MonoTime anchor;  // when row->db_now_ms was true; when put or invalidated
  };
  struct ClusterState {
    bool known = false;
    std::map<std::string, Entry> services;
  };

  // Under mu_: puts `record` into `entry` per the ordering rules.
  PutResult PutLocked(Entry& entry, const LeaseRecord& record, MonoTime now);
  int64_t ElapsedMs(const Entry& entry, MonoTime now) const;

  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, ClusterState> clusters_;
  std::map<std::pair<std::string, std::string>, int> writing_;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_ROW_CACHE_H_
