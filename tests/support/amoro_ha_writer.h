// AmoroHaWriter: plays Apache Amoro's own AMS on the ha_lease table, issuing
// the statements of its DataBaseHighAvailabilityContainer / HaLeaseMapper
// (ha.type=database, Amoro v0.9.0-rc1..rc4, unchanged on main; docs/amoro.md)
// with their `?` parameters bound as MyBatis binds them, so tests can put a
// real AMS's writes and our lease store on the same row. The mapper's SQL is
// the same for every database, so one writer serves PostgreSQL and
// MySQL/MariaDB: the engine is the SqlClient it is given.
//
// Unlike our store, Amoro stamps times with the CLIENT's clock
// (System.currentTimeMillis(), here `clock_ms`): acquire takes the lease when
// lease_expire_ts < now and sets now + ttl; renew needs node_id, the version
// it last saw and lease_expire_ts > now. Its insert-if-absent writes a
// placeholder row already naming itself with an expiry, version 0 and an
// empty server_info_json (errors ignored), so on an empty table the first
// AMS cannot acquire before its own placeholder expires.
// Heartbeat() is one run of Amoro's HeartbeatRunnable in that order:
// insertIfAbsent, acquireLease, selectLease, then on winning onLeaderGained
// (updateServerInfo, else insertServerInfoIfAbsent, for TABLE_SERVICE then
// OPTIMIZING_SERVICE); as leader renewLease, and once a renewal fails the
// node is revoked and never campaigns again (Amoro's leadershipRevoked).
// Amoro's per-node bucket_assignments heartbeat is not played: it is
// another table, and its failures are only logged by Amoro.
// Not thread-safe: one writer per thread, each with its own SqlClient.
#ifndef AMS_HA_TESTS_SUPPORT_AMORO_HA_WRITER_H_
#define AMS_HA_TESTS_SUPPORT_AMORO_HA_WRITER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "support/sql_client.h"

namespace amsha::testing {

class AmoroHaWriter {
 public:
  // `session` must outlive the writer (or be replaced by set_session). `clock_ms` defaults to the
  // process's wall clock in milliseconds, as Amoro reads it.
  AmoroHaWriter(SqlClient* session, std::string cluster_name, std::string node_id,
                std::string node_ip, std::chrono::milliseconds ttl,
                std::function<int64_t()> clock_ms = nullptr);

  // tryAcquireLease(): insertIfAbsent, then acquireLease; on success reads
  // the version back (selectLease). True when this node took the lease.
  StatusOr<bool> TryAcquire();
  // tryRenewLease(): renewLease at the remembered version; true when renewed.
  StatusOr<bool> TryRenew();
  // One HeartbeatRunnable run (above). Returns whether this node leads
  // after it. A database error changes no state (Amoro logs it and keeps
  // its flags), so the caller may retry on a new session (set_session).
  StatusOr<bool> Heartbeat();
  // Amoro's leadershipRevoked: this node lost the lease and never
  // campaigns again until its process restarts.
  bool revoked() const { return revoked_; }
  bool leads() const { return leader_; }
  void set_session(SqlClient* session) { session_ = session; }

  const std::string& node_id() const { return node_id_; }
  std::optional<int32_t> version() const { return version_; }

 private:
  SqlClient* session_;
  std::string cluster_name_;
  std::string node_id_;
  std::string node_ip_;
  std::chrono::milliseconds ttl_;
  std::function<int64_t()> clock_ms_;
  std::optional<int32_t> version_;
  bool leader_ = false;
  bool revoked_ = false;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_AMORO_HA_WRITER_H_
