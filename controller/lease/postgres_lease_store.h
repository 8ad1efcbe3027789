// PostgresLeaseStore: the LeaseStore on Amoro's `ha_lease` table in
// PostgreSQL, shared row for row with AMS's own database HA. The outcomes are
// decided by SqlLeaseStore (lease/sql_lease_store.h); this is its engine.
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
// row), and RenewWithInfo when it changes the server info, send
// pg_notify('ams_ha_lease', payload) in the same statement, so listeners hear
// of a change exactly when it commits; the payload is the row after the
// write as JSON (lease/lease_notification.h). Renew, and RenewWithInfo with
// unchanged info, are silent: a renewal moves only version and expiry.
// PostgresLeaseNotifier below and LeaseRowFeed LISTEN on a connection of
// their own (lease/postgres_listener.h), since the store's must stay free for
// bounded statements. ReadClusters is one statement (= ANY of a text[]).
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
#include "lease/sql_lease_store.h"

namespace amsha {

// The PostgreSQL fields are the shared ones (url: a libpq URI or key=value
// string).
using PostgresConnectionOptions = LeaseDatabaseOptions;

// The SqlLeaseStore whose engine is PostgreSQL through libpqxx (the .cc).
class PostgresLeaseStore : public SqlLeaseStore {
 public:
  // Checks the options without connecting: kInvalidArgument for a bad table
  // name or non-positive timeouts. A malformed URL shows on the first call.
  static StatusOr<std::unique_ptr<PostgresLeaseStore>> Create(PostgresConnectionOptions options);

  // Inherited, PostgreSQL specifics: PublishServiceInfo is one statement
  // (the AMS row is locked FOR SHARE and checked, then both service rows
  // are upserted, see the .cc); ApplySchema() runs
  // PostgresSchemaDdlFor(table), i.e. sql/postgres/ha_lease.sql for the
  // default name.

 private:
  explicit PostgresLeaseStore(std::unique_ptr<SqlLeaseEngine> engine);
};

// PostgresLeaseNotifier: LISTEN ams_ha_lease on a connection of its own
// (lease/postgres_listener.h), reporting notifications of one cluster: a row
// payload of that cluster, or its bare name (writers of earlier versions).
//
// The listener connects in the background (bounded by connect_timeout) and
// reconnects with backoff (100 ms up to 5 s); the notifier reports a change
// once it listens again, since notifications sent meanwhile are lost. Wait() never touches the
// network, so a database outage never blocks the caller past its timeout. Thread safety: as
// LeaseChangeNotifier; the destructor stops the thread (it may wait for a connection attempt in
// progress, up to connect_timeout).
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
