// LeaseStore: the narrow interface the election logic uses to hold leases.
//
// Every write is one conditional statement whose condition is judged by the
// store's own clock (the database server's), never the caller's. Outcomes:
//   OK                     the write happened; the returned record is the row after it.
//   kConflict              someone else holds the lease, or the version moved:
//                          a normal outcome, not an error.
//   kUnavailable           the store cannot be reached now: retry with backoff.
//   kFailedPrecondition /  the environment is wrong (missing table, no
//   kPermissionDenied /    permission, bad credentials): fatal, with a
//   kUnauthenticated       message that names the fix.
// Implementations: SqlLeaseStore (lease/sql_lease_store.h) with its engines
// PostgresLeaseStore and MysqlLeaseStore, FakeLeaseStore (tests).
// Thread safety: an instance is used by one thread at a time; open one per
// thread for concurrency.
#ifndef AMS_HA_LEASE_LEASE_STORE_H_
#define AMS_HA_LEASE_LEASE_STORE_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "lease/lease_record.h"

namespace amsha {

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;

  // The row for `key`, or nullopt when there is none.
  virtual StatusOr<std::optional<LeaseRecord>> Read(const LeaseKey& key) = 0;

  // Every row of the named clusters (any service_name), read in one
  // statement (a few for very long lists on engines without arrays), each
  // with db_now_ms of its statement; no particular order. An empty list
  // reads nothing. How a controller of many clusters refreshes what it
  // knows about all of them at once (lease/lease_row_feed.h).
  virtual StatusOr<std::vector<LeaseRecord>> ReadClusters(
      const std::vector<std::string>& cluster_names) = 0;

  // Creates the row if absent, then takes the lease only if it is empty or
  // expired: holder set, expiry = now + ttl, version + 1. kConflict otherwise.
  virtual StatusOr<LeaseRecord> Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                        std::chrono::milliseconds ttl) = 0;

  // Extends the lease only if `node_id` holds it at `version` and it has not
  // expired: expiry = now + ttl, version + 1. kConflict otherwise.
  virtual StatusOr<LeaseRecord> Renew(const LeaseKey& key, const std::string& node_id,
                                      int32_t version, std::chrono::milliseconds ttl) = 0;

  // As Renew, and in the same conditional statement replaces the row's
  // server_info_json with `server_info_json`: how a holder reports its state
  // (the gate's AMS state, docs/gate.md) without a second, racing write.
  virtual StatusOr<LeaseRecord> RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                              int32_t version, std::chrono::milliseconds ttl,
                                              const std::string& server_info_json) = 0;

  // Moves the lease from `from_node_id` at `version` to `to` in one
  // statement, without waiting for expiry. kConflict if the row moved.
  virtual StatusOr<LeaseRecord> HandOver(const LeaseKey& key, const std::string& from_node_id,
                                         int32_t version, const LeaseHolder& to,
                                         std::chrono::milliseconds ttl) = 0;

  // Expires the lease now, only if `node_id` holds it at `version`.
  virtual Status Release(const LeaseKey& key, const std::string& node_id, int32_t version) = 0;

  // Upserts the TABLE_SERVICE and OPTIMIZING_SERVICE rows of `cluster_name`
  // with the leader's info (each with its own thriftBindPort), as Amoro's
  // leader does on gaining leadership, only if the cluster's AMS row is
  // held by `holder_node_id` at `holder_version` and unexpired, judged in
  // the same statement: a controller that decided on a row that has moved
  // since cannot publish a stale leader. kConflict otherwise (nothing
  // written).
  virtual Status PublishServiceInfo(const std::string& cluster_name,
                                    const std::string& holder_node_id, int32_t holder_version,
                                    const LeaseHolder& table_service,
                                    const LeaseHolder& optimizing_service) = 0;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_STORE_H_
