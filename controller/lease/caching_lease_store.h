// CachingLeaseStore: a LeaseStore that answers Read() from a LeaseRowCache
// when it knows the row, and otherwise (and for every write) calls the
// backing store.
//
// One instance serves all clusters of a controller: the cluster loops share
// it (with the LeaseStorePool's Shared() store as backing, and the cache a
// LeaseRowFeed keeps current). What goes through:
//  - Read: from the cache when Get() knows the key; else read through, and
//    the result (row or "absent") is put into the cache;
//  - ReadClusters: always read through; the rows fill the cache, but do not
//    make the clusters "known" (only the feed, which keeps them current,
//    does that);
//  - Acquire, Renew, RenewWithInfo, HandOver: marked in flight in the cache
//    while they run (so their own NOTIFY wakes nobody); the returned row is put, so
//    the next Read needs no statement; any error (kConflict: the row moved;
//    kUnavailable: the outcome is unknown; anything else) makes the key
//    unknown, so the next Read goes to the database;
//  - Release: the key becomes unknown either way (the store returns no row;
//    its NOTIFY, when heard, puts the released row);
//  - PublishServiceInfo: the TABLE_SERVICE and OPTIMIZING_SERVICE keys become
//    unknown either way.
// Without a feed (cluster never "known") every Read reads through: the
// behaviour of the plain store.
// Thread safety: as safe as the backing store (the pool's Shared() store is
// safe from any thread; the cache always is).
#ifndef AMS_HA_LEASE_CACHING_LEASE_STORE_H_
#define AMS_HA_LEASE_CACHING_LEASE_STORE_H_

#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "lease/lease_row_cache.h"
#include "lease/lease_store.h"

namespace amsha {

class CachingLeaseStore : public LeaseStore {
 public:
  // Neither is owned; both outlive this.
  CachingLeaseStore(LeaseStore* backing, LeaseRowCache* cache, const Clock* clock);

  StatusOr<std::optional<LeaseRecord>> Read(const LeaseKey& key) override;
  StatusOr<std::vector<LeaseRecord>> ReadClusters(
      const std::vector<std::string>& cluster_names) override;
  StatusOr<LeaseRecord> Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                std::chrono::milliseconds ttl) override;
  StatusOr<LeaseRecord> Renew(const LeaseKey& key, const std::string& node_id, int32_t version,
                              std::chrono::milliseconds ttl) override;
  StatusOr<LeaseRecord> RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                      int32_t version, std::chrono::milliseconds ttl,
                                      const std::string& server_info_json) override;
  StatusOr<LeaseRecord> HandOver(const LeaseKey& key, const std::string& from_node_id,
                                 int32_t version, const LeaseHolder& to,
                                 std::chrono::milliseconds ttl) override;
  Status Release(const LeaseKey& key, const std::string& node_id, int32_t version) override;
  Status PublishServiceInfo(const std::string& cluster_name, const std::string& holder_node_id,
                            int32_t holder_version, const LeaseHolder& table_service,
                            const LeaseHolder& optimizing_service) override;

 private:
  // Runs `write` marked in flight in the cache (LeaseRowCache::BeginWrite),
  // then puts its row or makes the key unknown.
  StatusOr<LeaseRecord> Write(const LeaseKey& key,
                              const std::function<StatusOr<LeaseRecord>()>& write);

  LeaseStore* backing_;
  LeaseRowCache* cache_;
  const Clock* clock_;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_CACHING_LEASE_STORE_H_
