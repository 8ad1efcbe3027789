// MysqlLeaseStore: the LeaseStore on Amoro's `ha_lease` table in MySQL
// (5.7, 8.x) or MariaDB, shared row for row with AMS's own database HA
// (Amoro's MySQL system database). Outcomes are decided by SqlLeaseStore
// (lease/sql_lease_store.h); this is its engine, on MariaDB Connector/C.
//
// Created by cli wiring from a mysql:// or mariadb:// database.url
// (lease/mysql_url.h). Time: every statement that decides reads the
// server's clock itself, CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED), NOW()
// being one instant per statement in MySQL and MariaDB; the session runs in
// UTC (time_zone '+00:00'), so the conversion has no DST fold. MySQL has no
// UPDATE ... RETURNING: a conditional UPDATE and the re-select of the row it
// wrote run in one InnoDB transaction, the row lock held between them, and
// the returned db_now_ms is the UPDATE's own instant (its updated_at).
// InnoDB's UPDATE reads the newest committed row after any lock wait, so an
// Acquire cannot take a lease renewed meanwhile.
//
// Bounds: connect timeout; per statement, max_statement_time (MariaDB) or
// max_execution_time (MySQL, SELECTs only) and innodb_lock_wait_timeout
// (whole seconds, rounded up); Connector/C read and write timeouts; and the
// shared CallWatchdog that cuts the socket of a call the server does not
// answer. A broken connection is reopened by the next call (the driver's own
// auto-reconnect stays off: it would drop the session settings silently).
//
// No LISTEN/NOTIFY in MySQL: the gate polls (gate.pollInterval).
// kUnavailable from a write means its outcome is UNKNOWN: Read() first.
// Thread safety: calls on one instance are serialized (one connection).
#ifndef AMS_HA_LEASE_MYSQL_LEASE_STORE_H_
#define AMS_HA_LEASE_MYSQL_LEASE_STORE_H_

#include <memory>
#include <string>

#include "common/status.h"
#include "lease/sql_lease_store.h"

namespace amsha {

class MysqlLeaseStore : public SqlLeaseStore {
 public:
  // Checks the options and parses the URL without connecting:
  // kInvalidArgument for a bad URL, table name or timeouts.
  static StatusOr<std::unique_ptr<MysqlLeaseStore>> Create(LeaseDatabaseOptions options);

  // The server's id of the store's current connection (for KILL in tests);
  // 0 when not connected.
  unsigned long ConnectionId() const;

 private:
  class Engine;
  explicit MysqlLeaseStore(Engine* engine);  // takes ownership
  Engine* engine_;                           // owned by SqlLeaseStore
};

// sql/mysql/ha_lease.sql for "ha_lease"; for another (validated) name, the
// same statement creating that table. kInvalidArgument for a bad name.
StatusOr<std::string> MysqlSchemaDdlFor(const std::string& table);

}  // namespace amsha

#endif  // AMS_HA_LEASE_MYSQL_LEASE_STORE_H_
