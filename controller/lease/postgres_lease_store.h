// PostgresLeaseStore: the LeaseStore on Amoro's `ha_lease` table in
// PostgreSQL, shared row for row with AMS's own database HA.
//
// Created by main/cli wiring (and init-schema) from the `database` config;
// the election loop then sees only LeaseStore. Every write is ONE
// conditional statement judged by the database server's clock (see
// "Time" in the .cc); no client clock is read anywhere.
//
// Connection: opened lazily on the first call and kept. When it breaks
// (backend terminated, server restarted, network cut) that call returns
// kUnavailable and the next call opens a new one: no restart needed. Each
// call is bounded: libpq's connect_timeout while connecting, the server's
// statement_timeout per statement, and a client-side watchdog that cuts the
// socket at statement_timeout + 1 s per statement when the server does not
// answer at all (a frozen server ignores its own statement_timeout).
//
// kUnavailable from a write means the outcome is UNKNOWN (the reply may have
// been lost after the commit): Read() before assuming either way. A Renew
// that committed but was reported kUnavailable leaves the row at
// version + 1 still held by the caller.
//
// NOTIFY: Acquire, HandOver and Release (the writes that change who holds a
// row) send pg_notify('ams_ha_lease', cluster_name) in the same statement,
// so listeners hear of a change exactly when it commits. Renew is silent.
// PostgresLeaseNotifier below LISTENs on a connection of its own, since the
// store's must stay free for bounded statements.
//
// Thread safety: calls on one instance are serialized by a mutex (one
// connection); open one store per thread for concurrency.
#ifndef AMS_HA_LEASE_POSTGRES_LEASE_STORE_H_
#define AMS_HA_LEASE_POSTGRES_LEASE_STORE_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "lease/lease_change_notifier.h"
#include "lease/lease_record.h"
#include "lease/lease_store.h"

namespace amsha {

struct PostgresConnectionOptions {
  // A libpq URI (postgresql://user@host:5432/db?sslmode=require) or key=value
  // string (host=... dbname=... user=...). Should carry no password.
  std::string url;
  // Added to the connection separately (never logged, never in a Status);
  // empty: libpq's own sources (.pgpass, PGPASSWORD) or none.
  std::string password;
  // `table` or `schema.table`; see ValidateTableName(). Amoro reads only
  // ha_lease, so another name is for tests or a controller-only setup.
  std::string table = "ha_lease";
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds statement_timeout{5000};
};

class PostgresLeaseStore : public LeaseStore {
 public:
  // Checks the options without connecting: kInvalidArgument for a bad table
  // name or non-positive timeouts. A malformed URL shows on the first call.
  static StatusOr<std::unique_ptr<PostgresLeaseStore>> Create(PostgresConnectionOptions options);
  ~PostgresLeaseStore() override;

  PostgresLeaseStore(const PostgresLeaseStore&) = delete;
  PostgresLeaseStore& operator=(const PostgresLeaseStore&) = delete;

  StatusOr<std::optional<LeaseRecord>> Read(const LeaseKey& key) override;
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
  // One statement: the AMS row is locked FOR SHARE and checked, then both
  // service rows are upserted (see the .cc).
  Status PublishServiceInfo(const std::string& cluster_name, const std::string& holder_node_id,
                            int32_t holder_version, const LeaseHolder& table_service,
                            const LeaseHolder& optimizing_service) override;

  // Creates the table and its indexes if absent (PostgresSchemaDdlFor(table),
  // i.e. sql/postgres/ha_lease.sql for the default name). Idempotent.
  Status ApplySchema();

  // Closes the connection now; the next call opens a new one.
  void Disconnect();

 private:
  class Impl;
  explicit PostgresLeaseStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// PostgresLeaseNotifier: LISTEN ams_ha_lease on a connection of its own,
// reporting notifications whose payload is one cluster's name.
//
// A background thread connects (bounded by connect_timeout), LISTENs and
// then sleeps in poll() on the socket; TCP keepalives notice a dead peer
// within about 30 s. When the connection breaks it reconnects with backoff
// (100 ms up to 5 s) and reports a change once it listens again, since
// notifications sent meanwhile are lost. Wait() never touches the network,
// so a database outage never blocks the caller past its timeout.
// Thread safety: as LeaseChangeNotifier; the destructor stops the thread
// (it may wait for a connection attempt in progress, up to connect_timeout).
class PostgresLeaseNotifier : public LeaseChangeNotifier {
 public:
  // kInvalidArgument for non-positive timeouts or an empty cluster name;
  // starts the thread (and so the first connection attempt) at once.
  static StatusOr<std::unique_ptr<PostgresLeaseNotifier>> Create(PostgresConnectionOptions options,
                                                                 std::string cluster_name);
  ~PostgresLeaseNotifier() override;

  PostgresLeaseNotifier(const PostgresLeaseNotifier&) = delete;
  PostgresLeaseNotifier& operator=(const PostgresLeaseNotifier&) = delete;

  bool Wait(std::chrono::milliseconds timeout) override;
  void Interrupt() override;

  // True while the LISTEN connection is up (for logs, readiness and tests).
  bool Listening() const;
  // Drops the LISTEN connection now, as a broken network would (tests).
  void DropConnection();

 private:
  class Impl;
  explicit PostgresLeaseNotifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_POSTGRES_LEASE_STORE_H_
