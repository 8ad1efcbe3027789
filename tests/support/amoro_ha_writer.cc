#include "support/amoro_ha_writer.h"

#include <utility>

namespace amsha::testing {
namespace {

constexpr char kAms[] = "AMS";

// HaLeaseMapper's statements, `?` -> $n in their order of appearance.
constexpr char kInsertIfAbsent[] =
    "INSERT INTO ha_lease (cluster_name, service_name, node_id, node_ip, server_info_json, "
    "lease_expire_ts, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
constexpr char kAcquireLease[] =
    "UPDATE ha_lease SET node_id = $1, node_ip = $2, server_info_json = $3, "
    "lease_expire_ts = $4, version = version + 1, updated_at = $5 "
    "WHERE cluster_name = $6 AND service_name = $7 "
    "AND (lease_expire_ts IS NULL OR lease_expire_ts < $8)";
constexpr char kSelectLease[] =
    "SELECT cluster_name, service_name, node_id, node_ip, server_info_json, lease_expire_ts, "
    "version, updated_at FROM ha_lease WHERE cluster_name = $1 AND service_name = $2";
constexpr char kRenewLease[] =
    "UPDATE ha_lease SET lease_expire_ts = $1, version = version + 1, updated_at = $2 "
    "WHERE cluster_name = $3 AND service_name = $4 AND node_id = $5 AND version = $6 "
    "AND lease_expire_ts > $7";

// onLeaderGained's DB-neutral upsert of each service row.
constexpr char kUpdateServerInfo[] =
    "UPDATE ha_lease SET node_id=$1, node_ip=$2, server_info_json=$3, updated_at=$4 "
    "WHERE cluster_name=$5 AND service_name=$6";
constexpr char kInsertServerInfoIfAbsent[] =
    "INSERT INTO ha_lease (cluster_name, service_name, node_id, node_ip, server_info_json, "
    "version, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6)";

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

AmoroHaWriter::AmoroHaWriter(SqlSession* session, std::string cluster_name, std::string node_id,
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
  const std::string expire = std::to_string(now + ttl_.count());
  // Amoro ignores this insert's errors (duplicate key when the row exists).
  session_->Exec(kInsertIfAbsent, {cluster_name_, kAms, node_id_, node_ip_, std::string(), expire,
                                   std::string("0"), std::to_string(now)});
  const std::string info = AmsServerInfoJson(node_ip_, 1260);
  StatusOr<SqlSession::Result> r =
      session_->Exec(kAcquireLease, {node_id_, node_ip_, info, expire, std::to_string(now),
                                     cluster_name_, kAms, std::to_string(now)});
  if (!r.ok()) return r.status();
  if (r->affected_rows != 1) return false;
  StatusOr<std::string> version = session_->Scalar(
      "SELECT version FROM (" + std::string(kSelectLease) + ") AS lease", {cluster_name_, kAms});
  if (!version.ok()) return version.status();
  version_ = version->empty() ? 0 : std::stoi(*version);
  return true;
}

StatusOr<bool> AmoroHaWriter::TryRenew() {
  if (!version_) return false;
  const int64_t now = clock_ms_();
  StatusOr<SqlSession::Result> r = session_->Exec(
      kRenewLease, {std::to_string(now + ttl_.count()), std::to_string(now), cluster_name_, kAms,
                    node_id_, std::to_string(*version_), std::to_string(now)});
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
    const std::string now = std::to_string(clock_ms_());
    for (auto [service, port] :
         {std::pair<const char*, int>{"TABLE_SERVICE", 1260}, {"OPTIMIZING_SERVICE", 1261}}) {
      const std::string info = AmsServerInfoJson(node_ip_, port);
      auto updated = session_->Exec(kUpdateServerInfo,
                                    {node_id_, node_ip_, info, now, cluster_name_, service});
      if (updated.ok() && updated->affected_rows == 0) {
        session_->Exec(kInsertServerInfoIfAbsent,
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
