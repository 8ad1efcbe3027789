#include "lease/lease_store_pool.h"

#include <algorithm>
#include <utility>

namespace amsha {

// Every call: borrow, forward, return.
class LeaseStorePool::SharedStore : public LeaseStore {
 public:
  explicit SharedStore(LeaseStorePool* pool) : pool_(pool) {}

  StatusOr<std::optional<LeaseRecord>> Read(const LeaseKey& key) override {
    return With<StatusOr<std::optional<LeaseRecord>>>([&](LeaseStore* s) { return s->Read(key); });
  }
  StatusOr<std::vector<LeaseRecord>> ReadClusters(const std::vector<std::string>& names) override {
    return With<StatusOr<std::vector<LeaseRecord>>>(
        [&](LeaseStore* s) { return s->ReadClusters(names); });
  }
  StatusOr<LeaseRecord> Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                std::chrono::milliseconds ttl) override {
    return With<StatusOr<LeaseRecord>>([&](LeaseStore* s) { return s->Acquire(key, holder, ttl); });
  }
  StatusOr<LeaseRecord> Renew(const LeaseKey& key, const std::string& node_id, int32_t version,
                              std::chrono::milliseconds ttl) override {
    return With<StatusOr<LeaseRecord>>(
        [&](LeaseStore* s) { return s->Renew(key, node_id, version, ttl); });
  }
  StatusOr<LeaseRecord> RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                      int32_t version, std::chrono::milliseconds ttl,
                                      const std::string& info) override {
    return With<StatusOr<LeaseRecord>>(
        [&](LeaseStore* s) { return s->RenewWithInfo(key, node_id, version, ttl, info); });
  }
  StatusOr<LeaseRecord> HandOver(const LeaseKey& key, const std::string& from_node_id,
                                 int32_t version, const LeaseHolder& to,
                                 std::chrono::milliseconds ttl) override {
    return With<StatusOr<LeaseRecord>>(
        [&](LeaseStore* s) { return s->HandOver(key, from_node_id, version, to, ttl); });
  }
  Status Release(const LeaseKey& key, const std::string& node_id, int32_t version) override {
    return With<Status>([&](LeaseStore* s) { return s->Release(key, node_id, version); });
  }
  Status PublishServiceInfo(const std::string& cluster_name, const std::string& holder_node_id,
                            int32_t holder_version, const LeaseHolder& table_service,
                            const LeaseHolder& optimizing_service) override {
    return With<Status>([&](LeaseStore* s) {
      return s->PublishServiceInfo(cluster_name, holder_node_id, holder_version, table_service,
                                   optimizing_service);
    });
  }

 private:
  static const Status& StatusOf(const Status& s) { return s; }
  template <typename V>
  static const Status& StatusOf(const StatusOr<V>& s) {
    return s.status();
  }

  template <typename T, typename F>
  T With(F&& call) {
    Status open = pool_->FailFast();
    if (!open.ok()) return T(open);
    StatusOr<SqlLeaseStore*> store = pool_->Borrow();
    if (!store.ok()) {
      pool_->Record(store.status());
      return T(store.status());
    }
    T result = call(*store);
    pool_->Return(*store);
    pool_->Record(StatusOf(result));
    return result;
  }

  LeaseStorePool* pool_;
};

LeaseStorePool::LeaseStorePool(Factory factory, int max_connections)
    : factory_(std::move(factory)),
      max_connections_(std::max(1, max_connections)),
      shared_(std::make_unique<SharedStore>(this)) {}

LeaseStorePool::~LeaseStorePool() = default;

LeaseStore* LeaseStorePool::Shared() { return shared_.get(); }

StatusOr<SqlLeaseStore*> LeaseStorePool::Borrow() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] {
    return !idle_.empty() || static_cast<int>(stores_.size()) + opening_ < max_connections_;
  });
  if (!idle_.empty()) {
    SqlLeaseStore* store = idle_.back();
    idle_.pop_back();
    return store;
  }
  ++opening_;
  lock.unlock();
  StatusOr<std::unique_ptr<SqlLeaseStore>> opened = factory_();
  lock.lock();
  --opening_;
  if (!opened.ok()) {
    idle_cv_.notify_one();  // the slot is free again
    return opened.status();
  }
  stores_.push_back(std::move(opened).value());
  return stores_.back().get();
}

void LeaseStorePool::Return(SqlLeaseStore* store) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(store);
  }
  idle_cv_.notify_one();
}

Status LeaseStorePool::FailFast() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (failures_ == 0 || now >= fail_fast_until_) return Status::Ok();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(fail_fast_until_ - now);
  return UnavailableError(last_failure_ + " (the database did not answer " +
                          std::to_string(failures_) + " time(s) in a row; calls fail at once for " +
                          std::to_string(left.count()) + " ms more)");
}

void LeaseStorePool::Record(const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.IsUnavailable()) {
    failures_ = 0;  // answered (a conflict is an answer too)
    return;
  }
  if (failures_ > 0 && std::chrono::steady_clock::now() < fail_fast_until_) return;
  ++failures_;
  // 250 ms, doubling up to 4 s: while the database is down, the clusters'
  // passes end at once instead of each waiting out connect and statement
  // timeouts on a few pooled connections (which would stall every loop).
  auto wait = kFirstFailFast * (1 << std::min(failures_ - 1, 4));
  fail_fast_until_ = std::chrono::steady_clock::now() + wait;
  last_failure_ = status.message();
}

int LeaseStorePool::OpenConnections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(stores_.size());
}

void LeaseStorePool::CloseIdle() {
  std::vector<std::unique_ptr<SqlLeaseStore>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (SqlLeaseStore* idle : idle_) {
      auto it = std::find_if(stores_.begin(), stores_.end(),
                             [idle](const auto& s) { return s.get() == idle; });
      closing.push_back(std::move(*it));
      stores_.erase(it);
    }
    idle_.clear();
  }
  idle_cv_.notify_all();  // room to open again
  // Destroyed outside the lock: closing a connection may take a moment.
}

}  // namespace amsha
