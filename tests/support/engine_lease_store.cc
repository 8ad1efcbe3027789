#include "support/engine_lease_store.h"

#include <utility>

#include "lease/mysql_lease_store.h"
#include "lease/postgres_lease_store.h"

namespace amsha::testing {
namespace {

template <typename Store>
StatusOr<std::unique_ptr<SqlLeaseStore>> Create(LeaseDatabaseOptions options) {
  auto store = Store::Create(std::move(options));
  if (!store.ok()) return store.status();
  return std::unique_ptr<SqlLeaseStore>(std::move(store).value());
}

}  // namespace

StatusOr<std::unique_ptr<SqlLeaseStore>> OpenEngineLeaseStore(const std::string& engine,
                                                              LeaseDatabaseOptions options) {
  if (engine == "postgres") return Create<PostgresLeaseStore>(std::move(options));
  if (engine == "mysql") return Create<MysqlLeaseStore>(std::move(options));
  return InvalidArgumentError("no lease store for engine '" + engine + "'");
}

}  // namespace amsha::testing
