#include "lease/lease_row_cache.h"

#include <set>

namespace amsha {

bool RowChangeMatters(const std::optional<LeaseRecord>& before,
                      const std::optional<LeaseRecord>& after) {
  if (before.has_value() != after.has_value()) return true;
  if (!before) return false;
  if (after->key.service_name == kSwitchoverServiceName) {
    return before->version != after->version || before->updated_at_ms != after->updated_at_ms ||
           before->node_id != after->node_id || before->node_ip != after->node_ip ||
           before->server_info_json != after->server_info_json ||
           before->lease_expire_ts_ms != after->lease_expire_ts_ms;
  }
  return before->node_id != after->node_id || before->node_ip != after->node_ip ||
         before->server_info_json != after->server_info_json ||
         before->Expired() != after->Expired();
}

LeaseRowCache::LeaseRowCache(const Clock* clock) : clock_(clock) {}

int64_t LeaseRowCache::ElapsedMs(const Entry& entry, MonoTime now) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - entry.anchor).count();
}

LeaseRowCache::Cached LeaseRowCache::Get(const LeaseKey& key) const {
  const MonoTime now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto c = clusters_.find(key.cluster_name);
  if (c == clusters_.end() || !c->second.known) return {};
  auto e = c->second.services.find(key.service_name);
  if (e == c->second.services.end()) return {true, std::nullopt};
  const Entry& entry = e->second;
  if (!entry.known) return {};
  if (!entry.row) return {true, std::nullopt};
  LeaseRecord projected = *entry.row;
  projected.db_now_ms += ElapsedMs(entry, now);
  // Live when seen, expired by now: maybe renewed silently since.
  if (!entry.row->Expired() && projected.Expired()) return {};
  return {true, std::move(projected)};
}

LeaseRowCache::PutResult LeaseRowCache::PutLocked(Entry& entry, const LeaseRecord& record,
                                                  MonoTime now) {
  PutResult result = PutResult::kChanged;
  if (entry.known && entry.row) {
    const LeaseRecord& cached = *entry.row;
    if (record.version < cached.version ||
        (record.version == cached.version && record.updated_at_ms < cached.updated_at_ms)) {
      return PutResult::kStale;
    }
    if (record.version == cached.version && record.updated_at_ms == cached.updated_at_ms) {
      return PutResult::kSame;
    }
    result = RowChangeMatters(entry.row, record) ? PutResult::kChanged : PutResult::kRenewed;
  }
  entry.known = true;
  entry.row = record;
  entry.anchor = now;
  return result;
}

LeaseRowCache::PutResult LeaseRowCache::Put(const LeaseRecord& record) {
  const MonoTime now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  Entry& entry = clusters_[record.key.cluster_name].services[record.key.service_name];
  return PutLocked(entry, record, now);
}

void LeaseRowCache::PutAbsent(const LeaseKey& key, MonoTime read_started) {
  const MonoTime now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  ClusterState& cluster = clusters_[key.cluster_name];
  auto e = cluster.services.find(key.service_name);
  if (e != cluster.services.end() && e->second.anchor > read_started) return;
  Entry& entry = cluster.services[key.service_name];
  entry.known = true;
  entry.row.reset();
  entry.anchor = now;
}

std::vector<std::string> LeaseRowCache::PutClusters(const std::vector<std::string>& clusters,
                                                    const std::vector<LeaseRecord>& rows,
                                                    MonoTime read_started, bool mark_known) {
  const MonoTime now = clock_->Now();
  std::map<std::string, std::vector<const LeaseRecord*>> by_cluster;
  for (const std::string& name : clusters) by_cluster[name];
  for (const LeaseRecord& row : rows) {
    auto it = by_cluster.find(row.key.cluster_name);
    if (it != by_cluster.end()) it->second.push_back(&row);
  }
  std::vector<std::string> changed;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, cluster_rows] : by_cluster) {
    ClusterState& cluster = clusters_[name];
    bool matters = false;
    std::set<std::string> seen;
    for (const LeaseRecord* row : cluster_rows) {
      seen.insert(row->key.service_name);
      Entry& entry = cluster.services[row->key.service_name];
      // Put or invalidated after the read was sent: only a newer version
      // of a cached row can replace it.
      const bool newer_since = entry.anchor > read_started;
      if (newer_since && !(entry.known && entry.row)) continue;
      const bool was_known = entry.known;
      PutResult put = PutLocked(entry, *row, now);
      if (put == PutResult::kChanged || (!was_known && put != PutResult::kStale)) matters = true;
    }
    for (auto& [service, entry] : cluster.services) {
      if (seen.count(service) > 0 || entry.anchor > read_started) continue;
      if (entry.known && entry.row) matters = true;  // the row is gone
      entry.known = true;
      entry.row.reset();
      entry.anchor = now;
    }
    if (mark_known) cluster.known = true;
    if (matters) changed.push_back(name);
  }
  return changed;
}

void LeaseRowCache::InvalidateKey(const LeaseKey& key) {
  const MonoTime now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  Entry& entry = clusters_[key.cluster_name].services[key.service_name];
  entry.known = false;
  entry.row.reset();
  entry.anchor = now;
}

void LeaseRowCache::Invalidate(const std::string& cluster) {
  std::lock_guard<std::mutex> lock(mu_);
  auto c = clusters_.find(cluster);
  if (c != clusters_.end()) c->second.known = false;
}

void LeaseRowCache::InvalidateAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, cluster] : clusters_) cluster.known = false;
}

bool LeaseRowCache::Known(const std::string& cluster) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto c = clusters_.find(cluster);
  return c != clusters_.end() && c->second.known;
}

void LeaseRowCache::BeginWrite(const LeaseKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  ++writing_[{key.cluster_name, key.service_name}];
}

void LeaseRowCache::EndWrite(const LeaseKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = writing_.find({key.cluster_name, key.service_name});
  if (it != writing_.end() && --it->second <= 0) writing_.erase(it);
}

bool LeaseRowCache::Writing(const LeaseKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return writing_.count({key.cluster_name, key.service_name}) > 0;
}

std::vector<std::string> LeaseRowCache::ClustersToRefresh(std::chrono::milliseconds ahead) const {
  const MonoTime now = clock_->Now();
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, cluster] : clusters_) {
    if (!cluster.known) continue;
    for (const auto& [service, entry] : cluster.services) {
      bool due = !entry.known;
      if (entry.known && entry.row && !entry.row->Expired()) {
        // Not again within ahead/4 of the last read: a holder that stopped
        // renewing is re-read a few times before its expiry, not every tick.
        const int64_t elapsed = ElapsedMs(entry, now);
        due = entry.row->ExpiresInMs() - elapsed <= ahead.count() && elapsed >= ahead.count() / 4;
      }
      if (due) {
        out.push_back(name);
        break;
      }
    }
  }
  return out;
}

}  // namespace amsha
