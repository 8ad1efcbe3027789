// LeaseKey, LeaseHolder and LeaseRecord: one row of Amoro's `ha_lease` table.
//
// Times are Amoro's format: BIGINT milliseconds since the epoch, always
// stamped by the database server's clock. `db_now_ms` is that clock as read
// in the same statement, so callers can judge "expires in" without trusting
// their own clock. Plain values; thread-compatible.
#ifndef AMS_HA_LEASE_LEASE_RECORD_H_
#define AMS_HA_LEASE_LEASE_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>

namespace amsha {

// Amoro's service names in `ha_lease.service_name`.
inline constexpr char kAmsServiceName[] = "AMS";  // the leader-election row
inline constexpr char kTableServiceName[] = "TABLE_SERVICE";
inline constexpr char kOptimizingServiceName[] = "OPTIMIZING_SERVICE";
// The controller's own rows: a switchover request (election/switchover.h),
// whose every change matters to the cluster's loop (lease/lease_row_cache.h).
inline constexpr char kSwitchoverServiceName[] = "SWITCHOVER";

struct LeaseKey {
  std::string cluster_name;
  std::string service_name;
  bool operator==(const LeaseKey& o) const {
    return cluster_name == o.cluster_name && service_name == o.service_name;
  }
};

// Who holds (or is to hold) a lease.
struct LeaseHolder {
  std::string node_id;           // Amoro's host:port:uuid
  std::string node_ip;           // the holder's IP
  std::string server_info_json;  // {"host":..,"thriftBindPort":..,"restBindPort":..}
  bool operator==(const LeaseHolder& o) const {
    return node_id == o.node_id && node_ip == o.node_ip && server_info_json == o.server_info_json;
  }
};

struct LeaseRecord {
  LeaseKey key;
  std::optional<std::string> node_id;
  std::optional<std::string> node_ip;
  std::optional<std::string> server_info_json;
  std::optional<int64_t> lease_expire_ts_ms;
  int32_t version = 0;
  int64_t updated_at_ms = 0;
  int64_t db_now_ms = 0;  // the database clock when this record was read or written

  // True when nobody holds it, or the holder's time has run out (by the
  // database clock at `db_now_ms`).
  bool Expired() const {
    return !node_id || !lease_expire_ts_ms || *lease_expire_ts_ms <= db_now_ms;
  }
  bool HeldBy(const std::string& id) const { return node_id && *node_id == id; }
  // Milliseconds until expiry by the database clock (negative once expired).
  int64_t ExpiresInMs() const { return lease_expire_ts_ms ? *lease_expire_ts_ms - db_now_ms : -1; }
};

// Amoro's insertIfAbsent row (DataBaseHighAvailabilityContainer, on an empty
// table): version 0 and no server info. It names the inserting node, which
// does not lead; acquireLease makes the version 1 and writes server info.
inline bool IsAmoroPlaceholder(const LeaseRecord& record) {
  return record.version == 0 && record.server_info_json.value_or("").empty();
}

// {"host":"10.0.0.1","thriftBindPort":1260,"restBindPort":1630}, as Amoro writes it.
std::string ServerInfoJson(const std::string& host, int thrift_port, int rest_port);

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_RECORD_H_
