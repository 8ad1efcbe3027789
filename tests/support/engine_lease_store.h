// OpenEngineLeaseStore: the SqlLeaseStore of a lease database engine by
// name, for tests that run on every engine ("postgres": PostgresLeaseStore;
// "mysql": MysqlLeaseStore, which serves MariaDB too). Thread-safe.
#ifndef AMS_HA_TESTS_SUPPORT_ENGINE_LEASE_STORE_H_
#define AMS_HA_TESTS_SUPPORT_ENGINE_LEASE_STORE_H_

#include <memory>
#include <string>

#include "common/status.h"
#include "lease/sql_lease_store.h"

namespace amsha::testing {

StatusOr<std::unique_ptr<SqlLeaseStore>> OpenEngineLeaseStore(const std::string& engine,
                                                              LeaseDatabaseOptions options);

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_ENGINE_LEASE_STORE_H_
