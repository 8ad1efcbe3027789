#include "support/fake_lease_store.h"

#include <algorithm>

namespace amsha::testing {

int64_t FakeLeaseStore::DbNowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_->WallNow().time_since_epoch())
      .count();
}

LeaseRecord FakeLeaseStore::Stamp(LeaseRecord record) const {
  record.db_now_ms = DbNowMs();
  return record;
}

Status FakeLeaseStore::Enter(const char* method, const LeaseKey& key) {
  calls_.push_back(std::string(method) + " " + key.service_name + "/" + key.cluster_name);
  if (unavailable_) return UnavailableError("fake database is down");
  if (fail_count_ > 0) {
    --fail_count_;
    return fail_status_;
  }
  return Status::Ok();
}

StatusOr<std::optional<LeaseRecord>> FakeLeaseStore::Read(const LeaseKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Enter("Read", key);
  if (!s.ok()) return s;
  auto it = rows_.find({key.cluster_name, key.service_name});
  if (it == rows_.end()) return std::optional<LeaseRecord>();
  return std::optional<LeaseRecord>(Stamp(it->second));
}

StatusOr<std::vector<LeaseRecord>> FakeLeaseStore::ReadClusters(
    const std::vector<std::string>& cluster_names) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string names;
  for (const std::string& name : cluster_names) names += (names.empty() ? "" : ",") + name;
  calls_.push_back("ReadClusters " + names);
  if (unavailable_) return UnavailableError("fake database is down");
  if (fail_count_ > 0) {
    --fail_count_;
    return fail_status_;
  }
  std::vector<LeaseRecord> rows;
  for (const auto& [key, row] : rows_) {
    if (std::find(cluster_names.begin(), cluster_names.end(), key.first) != cluster_names.end()) {
      rows.push_back(Stamp(row));
    }
  }
  return rows;
}

StatusOr<LeaseRecord> FakeLeaseStore::Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                              std::chrono::milliseconds ttl) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Enter("Acquire", key);
  if (!s.ok()) return s;
  LeaseRecord& row = rows_[{key.cluster_name, key.service_name}];
  row.key = key;
  if (!Stamp(row).Expired()) return ConflictError("lease held by " + row.node_id.value_or(""));
  int64_t now = DbNowMs();
  row.node_id = holder.node_id;
  row.node_ip = holder.node_ip;
  row.server_info_json = holder.server_info_json;
  row.lease_expire_ts_ms = now + ttl.count();
  row.version += 1;
  row.updated_at_ms = now;
  return Stamp(row);
}

StatusOr<LeaseRecord> FakeLeaseStore::Renew(const LeaseKey& key, const std::string& node_id,
                                            int32_t version, std::chrono::milliseconds ttl) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Enter("Renew", key);
  if (!s.ok()) return s;
  auto it = rows_.find({key.cluster_name, key.service_name});
  if (it == rows_.end()) return ConflictError("no lease row");
  LeaseRecord& row = it->second;
  if (!row.HeldBy(node_id) || row.version != version || Stamp(row).Expired()) {
    return ConflictError("lease moved");
  }
  int64_t now = DbNowMs();
  row.lease_expire_ts_ms = now + ttl.count();
  row.version += 1;
  row.updated_at_ms = now;
  return Stamp(row);
}

StatusOr<LeaseRecord> FakeLeaseStore::RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                                    int32_t version, std::chrono::milliseconds ttl,
                                                    const std::string& server_info_json) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Enter("RenewWithInfo", key);
  if (!s.ok()) return s;
  auto it = rows_.find({key.cluster_name, key.service_name});
  if (it == rows_.end()) return ConflictError("no lease row");
  LeaseRecord& row = it->second;
  if (!row.HeldBy(node_id) || row.version != version || Stamp(row).Expired()) {
    return ConflictError("lease moved");
  }
  int64_t now = DbNowMs();
  row.lease_expire_ts_ms = now + ttl.count();
  row.server_info_json = server_info_json;
  row.version += 1;
  row.updated_at_ms = now;
  return Stamp(row);
}

StatusOr<LeaseRecord> FakeLeaseStore::HandOver(const LeaseKey& key, const std::string& from_node_id,
                                               int32_t version, const LeaseHolder& to,
                                               std::chrono::milliseconds ttl) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Enter("HandOver", key);
  if (!s.ok()) return s;
  auto it = rows_.find({key.cluster_name, key.service_name});
  if (it == rows_.end()) return ConflictError("no lease row");
  LeaseRecord& row = it->second;
  if (!row.HeldBy(from_node_id) || row.version != version) return ConflictError("lease moved");
  int64_t now = DbNowMs();
  row.node_id = to.node_id;
  row.node_ip = to.node_ip;
  row.server_info_json = to.server_info_json;
  row.lease_expire_ts_ms = now + ttl.count();
  row.version += 1;
  row.updated_at_ms = now;
  return Stamp(row);
}

Status FakeLeaseStore::Release(const LeaseKey& key, const std::string& node_id, int32_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Enter("Release", key);
  if (!s.ok()) return s;
  auto it = rows_.find({key.cluster_name, key.service_name});
  if (it == rows_.end()) return ConflictError("no lease row");
  LeaseRecord& row = it->second;
  if (!row.HeldBy(node_id) || row.version != version) return ConflictError("lease moved");
  int64_t now = DbNowMs();
  row.lease_expire_ts_ms = now;
  row.version += 1;
  row.updated_at_ms = now;
  return Status::Ok();
}

Status FakeLeaseStore::PublishServiceInfo(const std::string& cluster_name,
                                          const std::string& holder_node_id, int32_t holder_version,
                                          const LeaseHolder& table_service,
                                          const LeaseHolder& optimizing_service) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = Enter("PublishServiceInfo", {cluster_name, ""});
  if (!s.ok()) return s;
  // As PostgresLeaseStore: only while the AMS row is held by the caller's
  // holder at the caller's version, unexpired.
  auto ams = rows_.find({cluster_name, kAmsServiceName});
  if (ams == rows_.end() || !ams->second.HeldBy(holder_node_id) ||
      ams->second.version != holder_version || Stamp(ams->second).Expired()) {
    return ConflictError("AMS row of " + cluster_name + " is not held by " + holder_node_id +
                         " at version " + std::to_string(holder_version));
  }
  for (auto [service, holder] :
       {std::pair<const char*, const LeaseHolder*>{kTableServiceName, &table_service},
        {kOptimizingServiceName, &optimizing_service}}) {
    LeaseRecord& row = rows_[{cluster_name, service}];
    row.key = {cluster_name, service};
    row.node_id = holder->node_id;
    row.node_ip = holder->node_ip;
    row.server_info_json = holder->server_info_json;
    row.version += 1;
    row.updated_at_ms = DbNowMs();
  }
  return Status::Ok();
}

void FakeLeaseStore::SetUnavailable(bool unavailable) {
  std::lock_guard<std::mutex> lock(mu_);
  unavailable_ = unavailable;
}

void FakeLeaseStore::FailNext(int count, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_count_ = count;
  fail_status_ = std::move(status);
}

void FakeLeaseStore::Put(const LeaseKey& key, const LeaseHolder& holder,
                         std::chrono::milliseconds ttl) {
  std::lock_guard<std::mutex> lock(mu_);
  LeaseRecord& row = rows_[{key.cluster_name, key.service_name}];
  row.key = key;
  row.node_id = holder.node_id;
  row.node_ip = holder.node_ip;
  row.server_info_json = holder.server_info_json;
  row.lease_expire_ts_ms = DbNowMs() + ttl.count();
  row.version += 1;
  row.updated_at_ms = DbNowMs();
}

void FakeLeaseStore::PutRow(const LeaseRecord& record) {
  std::lock_guard<std::mutex> lock(mu_);
  rows_[{record.key.cluster_name, record.key.service_name}] = record;
}

void FakeLeaseStore::Clear(const LeaseKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  rows_.erase({key.cluster_name, key.service_name});
}

std::optional<LeaseRecord> FakeLeaseStore::Row(const LeaseKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find({key.cluster_name, key.service_name});
  if (it == rows_.end()) return std::nullopt;
  return Stamp(it->second);
}

std::vector<std::string> FakeLeaseStore::Calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

int FakeLeaseStore::CountCalls(const std::string& method) const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(std::count_if(calls_.begin(), calls_.end(), [&](const std::string& c) {
    return c.rfind(method + " ", 0) == 0;
  }));
}

void FakeLeaseStore::ClearCalls() {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.clear();
}

}  // namespace amsha::testing
