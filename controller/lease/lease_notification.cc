#include "lease/lease_notification.h"

#include "common/json.h"

namespace amsha {
namespace {

std::optional<std::string> OptionalString(const Json& object, const char* key) {
  const Json* v = object.Find(key);
  if (v == nullptr || v->kind() != Json::Kind::kString) return std::nullopt;
  return v->AsString();
}

std::optional<int64_t> OptionalNumber(const Json& object, const char* key) {
  const Json* v = object.Find(key);
  if (v == nullptr || v->kind() != Json::Kind::kNumber) return std::nullopt;
  return v->AsNumber();
}

Json OrNull(const std::optional<std::string>& s) { return s ? Json(*s) : Json::Null(); }

}  // namespace

std::optional<LeaseNotification> ParseLeaseNotification(const std::string& payload) {
  if (payload.empty()) return std::nullopt;
  // Cluster names are label values ([A-Za-z0-9._-]): never JSON objects.
  if (payload.front() != '{') return LeaseNotification{payload, std::nullopt};
  std::optional<Json> json = Json::Parse(payload);
  if (!json || json->kind() != Json::Kind::kObject) return std::nullopt;
  std::optional<std::string> cluster = OptionalString(*json, "cluster");
  if (!cluster || cluster->empty()) return std::nullopt;
  LeaseNotification out{*cluster, std::nullopt};
  std::optional<std::string> service = OptionalString(*json, "service");
  std::optional<int64_t> version = OptionalNumber(*json, "version");
  std::optional<int64_t> updated_at = OptionalNumber(*json, "updated_at");
  std::optional<int64_t> db_now = OptionalNumber(*json, "db_now");
  if (!service || service->empty() || !version || !updated_at || !db_now) return out;
  LeaseRecord row;
  row.key = {*cluster, *service};
  row.node_id = OptionalString(*json, "node_id");
  row.node_ip = OptionalString(*json, "node_ip");
  row.server_info_json = OptionalString(*json, "server_info_json");
  row.lease_expire_ts_ms = OptionalNumber(*json, "lease_expire_ts");
  row.version = static_cast<int32_t>(*version);
  row.updated_at_ms = *updated_at;
  row.db_now_ms = *db_now;
  out.row = std::move(row);
  return out;
}

std::string LeaseNotificationPayload(const LeaseRecord& row) {
  return Json::Object()
      .Set("cluster", row.key.cluster_name)
      .Set("service", row.key.service_name)
      .Set("node_id", OrNull(row.node_id))
      .Set("node_ip", OrNull(row.node_ip))
      .Set("server_info_json", OrNull(row.server_info_json))
      .Set("lease_expire_ts", row.lease_expire_ts_ms ? Json(*row.lease_expire_ts_ms) : Json::Null())
      .Set("version", static_cast<int64_t>(row.version))
      .Set("updated_at", row.updated_at_ms)
      .Set("db_now", row.db_now_ms)
      .Serialize();
}

}  // namespace amsha
