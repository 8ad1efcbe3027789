#include "lease/sql_lease_store.h"

#include <set>
#include <utility>

#include "lease/postgres_conninfo.h"

namespace amsha {
namespace {

std::string LeaseName(const LeaseKey& key) {
  return "lease \"" + key.service_name + "\" of cluster \"" + key.cluster_name + "\"";
}

Status CheckKey(const LeaseKey& key) {
  if (key.cluster_name.empty() || key.service_name.empty()) {
    return InvalidArgumentError("a lease key needs a cluster name and a service name");
  }
  return Status::Ok();
}

Status CheckTtl(std::chrono::milliseconds ttl) {
  if (ttl.count() < 0) return InvalidArgumentError("a lease ttl cannot be negative");
  return Status::Ok();
}

Status NotHeld(const LeaseKey& key, const std::string& node_id, int32_t version) {
  return ConflictError(LeaseName(key) + " is not held by \"" + node_id + "\" at version " +
                       std::to_string(version));
}

Status NotHeldOrExpired(const LeaseKey& key, const std::string& node_id, int32_t version) {
  return ConflictError(LeaseName(key) + " is not held by \"" + node_id + "\" at version " +
                       std::to_string(version) + ", or has expired");
}

// The one place a conditional write's result becomes an outcome: an error
// stays as the engine classified it; no row means the condition did not hold.
StatusOr<LeaseRecord> Decide(StatusOr<std::optional<LeaseRecord>> row, const Status& conflict) {
  if (!row.ok()) return row.status();
  if (!row->has_value()) return conflict;
  return std::move(**row);
}

Status Decide(StatusOr<bool> written, const Status& conflict) {
  if (!written.ok()) return written.status();
  return *written ? Status::Ok() : conflict;
}

}  // namespace

SqlLeaseStore::SqlLeaseStore(std::unique_ptr<SqlLeaseEngine> engine) : engine_(std::move(engine)) {}
SqlLeaseStore::~SqlLeaseStore() = default;

Status SqlLeaseStore::ValidateOptions(const LeaseDatabaseOptions& options) {
  Status valid = ValidateTableName(options.table);
  if (!valid.ok()) return valid;
  if (options.connect_timeout.count() <= 0 || options.statement_timeout.count() <= 0) {
    return InvalidArgumentError("database connect and statement timeouts must be positive");
  }
  return Status::Ok();
}

StatusOr<std::optional<LeaseRecord>> SqlLeaseStore::Read(const LeaseKey& key) {
  Status valid = CheckKey(key);
  if (!valid.ok()) return valid;
  return engine_->ReadRow(key);
}

StatusOr<std::vector<LeaseRecord>> SqlLeaseStore::ReadClusters(
    const std::vector<std::string>& cluster_names) {
  std::set<std::string> seen;
  std::vector<std::string> distinct;
  distinct.reserve(cluster_names.size());
  for (const std::string& name : cluster_names) {
    if (name.empty()) return InvalidArgumentError("empty cluster name");
    if (seen.insert(name).second) distinct.push_back(name);
  }
  if (distinct.empty()) return std::vector<LeaseRecord>();
  return engine_->ReadClusterRows(distinct);
}

StatusOr<LeaseRecord> SqlLeaseStore::Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                             std::chrono::milliseconds ttl) {
  Status valid = CheckKey(key);
  if (valid.ok()) valid = CheckTtl(ttl);
  if (valid.ok() && holder.node_id.empty()) valid = InvalidArgumentError("empty node_id");
  if (!valid.ok()) return valid;
  return Decide(engine_->AcquireRow(key, holder, ttl.count()),
                ConflictError(LeaseName(key) + " is held by another node, unexpired"));
}

StatusOr<LeaseRecord> SqlLeaseStore::Renew(const LeaseKey& key, const std::string& node_id,
                                           int32_t version, std::chrono::milliseconds ttl) {
  Status valid = CheckKey(key);
  if (valid.ok()) valid = CheckTtl(ttl);
  if (!valid.ok()) return valid;
  return Decide(engine_->RenewRow(key, node_id, version, ttl.count(), nullptr),
                NotHeldOrExpired(key, node_id, version));
}

StatusOr<LeaseRecord> SqlLeaseStore::RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                                   int32_t version, std::chrono::milliseconds ttl,
                                                   const std::string& server_info_json) {
  Status valid = CheckKey(key);
  if (valid.ok()) valid = CheckTtl(ttl);
  if (!valid.ok()) return valid;
  return Decide(engine_->RenewRow(key, node_id, version, ttl.count(), &server_info_json),
                NotHeldOrExpired(key, node_id, version));
}

StatusOr<LeaseRecord> SqlLeaseStore::HandOver(const LeaseKey& key, const std::string& from_node_id,
                                              int32_t version, const LeaseHolder& to,
                                              std::chrono::milliseconds ttl) {
  Status valid = CheckKey(key);
  if (valid.ok()) valid = CheckTtl(ttl);
  if (valid.ok() && to.node_id.empty()) valid = InvalidArgumentError("empty node_id");
  if (!valid.ok()) return valid;
  return Decide(engine_->HandOverRow(key, from_node_id, version, to, ttl.count()),
                NotHeld(key, from_node_id, version));
}

Status SqlLeaseStore::Release(const LeaseKey& key, const std::string& node_id, int32_t version) {
  Status valid = CheckKey(key);
  if (!valid.ok()) return valid;
  return Decide(engine_->ReleaseRow(key, node_id, version), NotHeld(key, node_id, version));
}

Status SqlLeaseStore::PublishServiceInfo(const std::string& cluster_name,
                                         const std::string& holder_node_id, int32_t holder_version,
                                         const LeaseHolder& table_service,
                                         const LeaseHolder& optimizing_service) {
  if (cluster_name.empty()) return InvalidArgumentError("empty cluster name");
  return Decide(engine_->PublishRows(cluster_name, holder_node_id, holder_version, table_service,
                                     optimizing_service),
                ConflictError(LeaseName({cluster_name, kAmsServiceName}) + " is not held by \"" +
                              holder_node_id + "\" at version " + std::to_string(holder_version) +
                              ", or has expired: service info not published"));
}

Status SqlLeaseStore::ApplySchema() { return engine_->ApplySchema(); }

void SqlLeaseStore::Disconnect() { engine_->Disconnect(); }

}  // namespace amsha
