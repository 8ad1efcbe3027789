#include "lease/caching_lease_store.h"

#include <utility>

namespace amsha {

CachingLeaseStore::CachingLeaseStore(LeaseStore* backing, LeaseRowCache* cache, const Clock* clock)
    : backing_(backing), cache_(cache), clock_(clock) {}

StatusOr<std::optional<LeaseRecord>> CachingLeaseStore::Read(const LeaseKey& key) {
  LeaseRowCache::Cached cached = cache_->Get(key);
  if (cached.known) return std::move(cached.row);
  const MonoTime sent = clock_->Now();
  StatusOr<std::optional<LeaseRecord>> read = backing_->Read(key);
  if (read.ok()) {
    if (read->has_value()) {
      cache_->Put(**read);
    } else {
      cache_->PutAbsent(key, sent);
    }
  }
  return read;
}

StatusOr<std::vector<LeaseRecord>> CachingLeaseStore::ReadClusters(
    const std::vector<std::string>& cluster_names) {
  const MonoTime sent = clock_->Now();
  StatusOr<std::vector<LeaseRecord>> read = backing_->ReadClusters(cluster_names);
  if (read.ok()) cache_->PutClusters(cluster_names, *read, sent, /*mark_known=*/false);
  return read;
}

StatusOr<LeaseRecord> CachingLeaseStore::Write(
    const LeaseKey& key, const std::function<StatusOr<LeaseRecord>()>& write) {
  cache_->BeginWrite(key);
  StatusOr<LeaseRecord> result = write();
  if (result.ok()) {
    cache_->Put(*result);
  } else {
    cache_->InvalidateKey(key);
  }
  cache_->EndWrite(key);
  return result;
}

StatusOr<LeaseRecord> CachingLeaseStore::Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                                 std::chrono::milliseconds ttl) {
  return Write(key, [&] { return backing_->Acquire(key, holder, ttl); });
}

StatusOr<LeaseRecord> CachingLeaseStore::Renew(const LeaseKey& key, const std::string& node_id,
                                               int32_t version, std::chrono::milliseconds ttl) {
  return Write(key, [&] { return backing_->Renew(key, node_id, version, ttl); });
}

StatusOr<LeaseRecord> CachingLeaseStore::RenewWithInfo(const LeaseKey& key,
                                                       const std::string& node_id, int32_t version,
                                                       std::chrono::milliseconds ttl,
                                                       const std::string& server_info_json) {
  return Write(
      key, [&] { return backing_->RenewWithInfo(key, node_id, version, ttl, server_info_json); });
}

StatusOr<LeaseRecord> CachingLeaseStore::HandOver(const LeaseKey& key,
                                                  const std::string& from_node_id, int32_t version,
                                                  const LeaseHolder& to,
                                                  std::chrono::milliseconds ttl) {
  return Write(key, [&] { return backing_->HandOver(key, from_node_id, version, to, ttl); });
}

Status CachingLeaseStore::Release(const LeaseKey& key, const std::string& node_id,
                                  int32_t version) {
  cache_->BeginWrite(key);
  Status released = backing_->Release(key, node_id, version);
  cache_->InvalidateKey(key);
  cache_->EndWrite(key);
  return released;
}

Status CachingLeaseStore::PublishServiceInfo(const std::string& cluster_name,
                                             const std::string& holder_node_id,
                                             int32_t holder_version,
                                             const LeaseHolder& table_service,
                                             const LeaseHolder& optimizing_service) {
  Status published = backing_->PublishServiceInfo(cluster_name, holder_node_id, holder_version,
                                                  table_service, optimizing_service);
  cache_->InvalidateKey({cluster_name, kTableServiceName});
  cache_->InvalidateKey({cluster_name, kOptimizingServiceName});
  return published;
}

}  // namespace amsha
