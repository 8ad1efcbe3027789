// SqlLeaseStore: the LeaseStore on Amoro's `ha_lease` table in any SQL
// database, and SqlLeaseEngine, the one adapter a database engine supplies.
//
// The split: SqlLeaseStore checks the arguments and decides every outcome
// from what the engine reports (a row after a conditional write, or none:
// kConflict with a message naming the lease, holder and version). An engine
// adapter owns one connection and speaks its dialect: the database clock in
// ms inside each statement, the upsert, RETURNING or a re-select in the same
// transaction, session timeouts, and its error codes as Status values
// (lease/lease_errors.h has the shared wording). Adding an engine means one
// SqlLeaseEngine implementation (see PostgresLeaseStore in
// postgres_lease_store.cc and MysqlLeaseStore in mysql_lease_store.cc) and a
// URL scheme in cli/backends.cc.
//
// Contract of every engine (the store's guarantees rest on it):
//  - each conditional write is judged by the database server's clock, read
//    once for the statement that decides it; the returned record's
//    db_now_ms is that instant (updated_at_ms equals it for writes);
//  - a write whose condition did not hold changes nothing and returns
//    nullopt/false; the record returned after a write is the row exactly as
//    that write left it (no other writer in between);
//  - errors are already classified: kUnavailable (retry; a write's outcome
//    is unknown), kFailedPrecondition / kPermissionDenied /
//    kUnauthenticated / kInvalidArgument (fatal, the message names the fix);
//  - a broken connection is reopened by the next call; every call is bounded
//    (connect timeout, statement timeout, a watchdog: lease/call_watchdog.h).
// Thread safety: an engine serializes its calls (one connection); open one
// store per thread for concurrency.
#ifndef AMS_HA_LEASE_SQL_LEASE_STORE_H_
#define AMS_HA_LEASE_SQL_LEASE_STORE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "lease/lease_record.h"
#include "lease/lease_store.h"

namespace amsha {

// How to reach the lease table; the same fields for every engine.
struct LeaseDatabaseOptions {
  // The engine's URL: postgresql://user@host:5432/db?sslmode=require (or a
  // libpq key=value string), mysql://user@host:3306/db?ssl-mode=REQUIRED.
  // Should carry no password.
  std::string url;
  // Added to the connection separately (never logged, never in a Status);
  // empty: the driver's own sources (.pgpass, PGPASSWORD) or none.
  std::string password;
  // `table` or `schema.table`; see ValidateTableName(). Amoro reads only
  // ha_lease, so another name is for tests or a controller-only setup.
  std::string table = "ha_lease";
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds statement_timeout{5000};
};

// The per-engine piece. Each method is one bounded call on the engine's
// connection; see the contract above.
class SqlLeaseEngine {
 public:
  virtual ~SqlLeaseEngine() = default;

  // The row, with db_now_ms read in the same statement; nullopt when absent.
  virtual StatusOr<std::optional<LeaseRecord>> ReadRow(const LeaseKey& key) = 0;
  // Every row whose cluster_name is one of `cluster_names` (non-empty,
  // distinct), each with db_now_ms of the statement that read it.
  virtual StatusOr<std::vector<LeaseRecord>> ReadClusterRows(
      const std::vector<std::string>& cluster_names) = 0;
  // Creates the empty row if absent (no holder, version 0), then takes it
  // only if it has no holder or has expired: holder set, expiry = now + ttl,
  // version + 1, updated_at = now. nullopt when held and unexpired.
  virtual StatusOr<std::optional<LeaseRecord>> AcquireRow(const LeaseKey& key,
                                                          const LeaseHolder& holder,
                                                          int64_t ttl_ms) = 0;
  // Only if held by `node_id` at `version` and unexpired: expiry = now +
  // ttl, version + 1, updated_at = now, and server_info_json replaced when
  // `server_info_json` is non-null.
  virtual StatusOr<std::optional<LeaseRecord>> RenewRow(const LeaseKey& key,
                                                        const std::string& node_id, int32_t version,
                                                        int64_t ttl_ms,
                                                        const std::string* server_info_json) = 0;
  // Only if held by `from_node_id` at `version` (expired or not): holder
  // set to `to`, expiry = now + ttl, version + 1, updated_at = now.
  virtual StatusOr<std::optional<LeaseRecord>> HandOverRow(const LeaseKey& key,
                                                           const std::string& from_node_id,
                                                           int32_t version, const LeaseHolder& to,
                                                           int64_t ttl_ms) = 0;
  // Only if held by `node_id` at `version`: expiry = now, version + 1,
  // updated_at = now. False when the condition did not hold.
  virtual StatusOr<bool> ReleaseRow(const LeaseKey& key, const std::string& node_id,
                                    int32_t version) = 0;
  // Upserts both service rows (version 0 when inserted, + 1 when updated;
  // no expiry) only while the AMS row is held by `holder_node_id` at
  // `holder_version` and unexpired, judged so that a hand-over committing
  // meanwhile is either seen or waits. False when the condition did not hold
  // (nothing written).
  virtual StatusOr<bool> PublishRows(const std::string& cluster_name,
                                     const std::string& holder_node_id, int32_t holder_version,
                                     const LeaseHolder& table_service,
                                     const LeaseHolder& optimizing_service) = 0;
  // Creates the table and its indexes if absent (the engine's
  // sql/<engine>/ha_lease.sql). Idempotent.
  virtual Status ApplySchema() = 0;
  // Closes the connection now; the next call opens a new one.
  virtual void Disconnect() = 0;
};

class SqlLeaseStore : public LeaseStore {
 public:
  ~SqlLeaseStore() override;

  SqlLeaseStore(const SqlLeaseStore&) = delete;
  SqlLeaseStore& operator=(const SqlLeaseStore&) = delete;

  // kInvalidArgument for a bad table name or non-positive timeouts; the
  // engines' Create functions call it before building anything.
  static Status ValidateOptions(const LeaseDatabaseOptions& options);

  StatusOr<std::optional<LeaseRecord>> Read(const LeaseKey& key) override;
  // Duplicates are read once; an empty name is kInvalidArgument.
  StatusOr<std::vector<LeaseRecord>> ReadClusters(
      const std::vector<std::string>& cluster_names) override;
  StatusOr<LeaseRecord> Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                std::chrono::milliseconds ttl) override;
  StatusOr<LeaseRecord> Renew(const LeaseKey& key, const std::string& node_id, int32_t version,
                              std::chrono::milliseconds ttl) override;
  StatusOr<LeaseRecord> RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                      int32_t version, std::chrono::milliseconds ttl,
                                      const std::string& server_info_json) override;
  // Allowed while the lease is unexpired (the holder's controller decides)
  // and after expiry, as long as nobody wrote the row since `version`.
  StatusOr<LeaseRecord> HandOver(const LeaseKey& key, const std::string& from_node_id,
                                 int32_t version, const LeaseHolder& to,
                                 std::chrono::milliseconds ttl) override;
  Status Release(const LeaseKey& key, const std::string& node_id, int32_t version) override;
  Status PublishServiceInfo(const std::string& cluster_name, const std::string& holder_node_id,
                            int32_t holder_version, const LeaseHolder& table_service,
                            const LeaseHolder& optimizing_service) override;

  // Creates the table and its indexes if absent. Idempotent.
  Status ApplySchema();
  // Closes the connection now; the next call opens a new one.
  void Disconnect();

 protected:
  explicit SqlLeaseStore(std::unique_ptr<SqlLeaseEngine> engine);

 private:
  std::unique_ptr<SqlLeaseEngine> engine_;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_SQL_LEASE_STORE_H_
