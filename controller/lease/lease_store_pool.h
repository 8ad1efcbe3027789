// LeaseStorePool: at most `max_connections` SqlLeaseStores (one database
// connection each), shared by any number of threads.
//
// The controller's cluster loops (worker threads) all use Shared(): every
// call on it borrows one idle store for the duration of that call, opening
// a new store through the factory only when none is idle and fewer than
// max_connections exist, and blocks while all are busy. So the number of
// connections is bounded independently of the number of clusters, and an
// unused pool opens none (stores also connect lazily, on their first call).
// CloseIdle() closes the idle stores (e.g. when the replica becomes
// standby); the next call opens one again. A store whose call failed stays
// in the pool: SqlLeaseStore reopens its broken connection by itself.
// Thread safety: every method from any thread. The pool must outlive every
// call on Shared().
#ifndef AMS_HA_LEASE_LEASE_STORE_POOL_H_
#define AMS_HA_LEASE_LEASE_STORE_POOL_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "lease/lease_store.h"
#include "lease/sql_lease_store.h"

namespace amsha {

class LeaseStorePool {
 public:
  // Opens one store (cli/backends.cc OpenLeaseStore, bound to the config).
  using Factory = std::function<StatusOr<std::unique_ptr<SqlLeaseStore>>()>;

  // `max_connections` < 1 counts as 1.
  LeaseStorePool(Factory factory, int max_connections);
  ~LeaseStorePool();

  LeaseStorePool(const LeaseStorePool&) = delete;
  LeaseStorePool& operator=(const LeaseStorePool&) = delete;

  // The pool as one LeaseStore; each call borrows a store (see above). A
  // factory error is returned by the call that needed the store.
  LeaseStore* Shared();

  // Stores that exist now (each holds at most one connection).
  int OpenConnections() const;
  // Closes and drops the idle stores; busy ones finish their call.
  void CloseIdle();

  // How long calls fail at once (kUnavailable, without touching the
  // database) after a call found the database unavailable: 250 ms, doubling
  // per further failure up to 4 s; the first call after that tries again,
  // and any answer ends it.
  static constexpr std::chrono::milliseconds kFirstFailFast{250};

 private:
  class SharedStore;
  friend class SharedStore;

  // A store for one call (blocks while all are busy), or the factory's error.
  StatusOr<SqlLeaseStore*> Borrow();
  void Return(SqlLeaseStore* store);
  // kUnavailable while calls fail at once; OK otherwise.
  Status FailFast() const;
  // The outcome of one call, for FailFast().
  void Record(const Status& status);

  const Factory factory_;
  const int max_connections_;
  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  std::vector<std::unique_ptr<SqlLeaseStore>> stores_;  // all that exist
  std::vector<SqlLeaseStore*> idle_;
  int opening_ = 0;
  int failures_ = 0;  // calls in a row that found the database unavailable
  std::chrono::steady_clock::time_point fail_fast_until_;
  std::string last_failure_;  // factory calls in progress (count against the limit)
  std::unique_ptr<SharedStore> shared_;
};

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_STORE_POOL_H_
