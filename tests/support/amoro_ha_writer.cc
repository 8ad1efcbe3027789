#include "support/amoro_ha_writer.h"

#include <utility>

namespace amsha::testing {
namespace {

constexpr char kAms[] = "AMS";

// HaLeaseMapper's statements, `?` where its #{...} parameters are.
constexpr char kInsertIfAbsent[] =
    "INSERT INTO ha_lease (cluster_name, service_name, node_id, node_ip, server_info_json, "
    "lease_expire_ts, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
constexpr char kAcquireLease[] =
    "UPDATE ha_lease SET node_id = ?, node_ip = ?, server_info_json = ?, "
    "lease_expire_ts = ?, version = version + 1, updated_at = ? "
    "WHERE cluster_name = ? AND service_name = ? "
    "AND (lease_expire_ts IS NULL OR lease_expire_ts < ?)";
constexpr char kSelectLease[] =
    "SELECT cluster_name, service_name, node_id, node_ip, server_info_json, lease_expire_ts, "
    "version, updated_at FROM ha_lease WHERE cluster_name = ? AND service_name = ?";
constexpr char kRenewLease[] =
    "UPDATE ha_lease SET lease_expire_ts = ?, version = version + 1, updated_at = ? "
    "WHERE cluster_name = ? AND service_name = ? AND node_id = ? AND version = ? "
    "AND lease_expire_ts > ?";

// onLeaderGained's DB-neutral upsert of each service row.
constexpr char kUpdateServerInfo[] =
    "UPDATE ha_lease SET node_id=?, node_ip=?, server_info_json=?, updated_at=? "
    "WHERE cluster_name=? AND service_name=?";
constexpr char kInsertServerInfoIfAbsent[] =
    "INSERT INTO ha_lease (cluster_name, service_name, node_id, node_ip, server_info_json, "
    "version, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?)";

// JacksonUtil.toJSONString(AmsServerInfo): fields in declaration order.
std::string AmsServerInfoJson(const std::string& host, int thrift_port) {
  return "{\"host\":\"" + host +
         "\",\"restBindPort\":1630,\"thriftBindPort\":" + std::to_string(thrift_port) + "}";
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

AmoroHaWriter::AmoroHaWriter(SqlClient* session, std::string cluster_name, std::string node_id,
                             std::string node_ip, std::chrono::milliseconds ttl,
                             std::function<int64_t()> clock_ms)
    : session_(session),
      cluster_name_(std::move(cluster_name)),
      node_id_(std::move(node_id)),
      node_ip_(std::move(node_ip)),
      ttl_(ttl),
      clock_ms_(clock_ms ? std::move(clock_ms) : WallClockMs) {}

StatusOr<bool> AmoroHaWriter::TryAcquire() {
  const int64_t now = clock_ms_();
  const int64_t expire = now + ttl_.count();
  // Amoro ignores this insert's errors (duplicate key when the row exists).
  session_->Execute(kInsertIfAbsent, {cluster_name_, std::string(kAms), node_id_, node_ip_,
                                      std::string(), expire, int64_t{0}, now});
  const std::string info = AmsServerInfoJson(node_ip_, 1260);
  StatusOr<SqlClient::Result> r = session_->Execute(
      kAcquireLease,
      {node_id_, node_ip_, info, expire, now, cluster_name_, std::string(kAms), now});
  if (!r.ok()) return r.status();
  if (r->affected_rows != 1) return false;
  StatusOr<SqlClient::Result> lease =
      session_->Execute(kSelectLease, {cluster_name_, std::string(kAms)});
  if (!lease.ok()) return lease.status();
  constexpr size_t kVersionColumn = 6;
  if (lease->rows.empty() || !lease->rows[0][kVersionColumn]) {
    return InternalError("selectLease found no version after acquireLease");
  }
  version_ = std::stoi(*lease->rows[0][kVersionColumn]);
  return true;
}

StatusOr<bool> AmoroHaWriter::TryRenew() {
  if (!version_) return false;
  const int64_t now = clock_ms_();
  StatusOr<SqlClient::Result> r =
      session_->Execute(kRenewLease, {now + ttl_.count(), now, cluster_name_, std::string(kAms),
                                      node_id_, int64_t{*version_}, now});
  if (!r.ok()) return r.status();
  if (r->affected_rows != 1) return false;
  ++*version_;
  return true;
}

StatusOr<bool> AmoroHaWriter::Heartbeat() {
  if (revoked_) return false;
  if (!leader_) {
    StatusOr<bool> won = TryAcquire();
    if (!won.ok()) return won.status();
    if (!*won) return false;
    leader_ = true;
    // onLeaderGained: both service rows, each update-else-insert, errors
    // ignored (doAsIgnoreError).
    const int64_t now = clock_ms_();
    for (auto [service, port] :
         {std::pair<std::string, int>{"TABLE_SERVICE", 1260}, {"OPTIMIZING_SERVICE", 1261}}) {
      const std::string info = AmsServerInfoJson(node_ip_, port);
      auto updated = session_->Execute(kUpdateServerInfo,
                                       {node_id_, node_ip_, info, now, cluster_name_, service});
      if (updated.ok() && updated->affected_rows == 0) {
        session_->Execute(kInsertServerInfoIfAbsent,
                          {cluster_name_, service, node_id_, node_ip_, info, now});
      }
    }
    return true;
  }
  StatusOr<bool> renewed = TryRenew();
  if (!renewed.ok()) return renewed.status();
  if (!*renewed) {
    // onLeaderLost: demoted for good.
    leader_ = false;
    revoked_ = true;
  }
  return leader_;
}

}  // namespace amsha::testing
