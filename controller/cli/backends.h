// Opening the real backends from a Config: the lease store of the engine
// database.url names (postgresql:// or key=value: PostgreSQL; mysql:// or
// mariadb://: MySQL/MariaDB), its change notifier, and the
// Kubernetes API client. Shared by run, status and switchover. Each failure
// is returned as one line that names what is wrong and what to do.
#ifndef AMS_HA_CLI_BACKENDS_H_
#define AMS_HA_CLI_BACKENDS_H_

#include <memory>

#include "common/status.h"
#include "config/config.h"
#include "kube/rest_kube_api.h"
#include "lease/lease_change_notifier.h"
#include "lease/lease_row_feed.h"
#include "lease/lease_store_pool.h"
#include "lease/postgres_lease_store.h"
#include "lease/sql_lease_store.h"

namespace amsha {

// The `database` section as connection options (also for the gate's
// PostgresLeaseNotifier).
LeaseDatabaseOptions DatabaseOptions(const Config& config);

// True when database.url is a mysql:// or mariadb:// URL.
bool UsesMysql(const Config& config);

StatusOr<std::unique_ptr<SqlLeaseStore>> OpenLeaseStore(const Config& config);

// The gate's wake-ups: LISTEN on PostgreSQL when gate.listen; polling only
// (PollingNotifier) when gate.listen is false or the engine has no
// LISTEN/NOTIFY (MySQL).
StatusOr<std::unique_ptr<LeaseChangeNotifier>> OpenLeaseNotifier(const Config& config,
                                                                 const std::string& cluster);

// The controller's database side (issue 15): a factory of the engine's
// stores for LeaseStorePool (nothing is opened until the pool needs a store),
// and the LISTEN connection factory for LeaseRowFeed: PostgreSQL's when
// `listen`, else empty (polling only; always empty on MySQL, which has no
// LISTEN/NOTIFY). `config` must outlive both.
LeaseStorePool::Factory LeaseStoreFactory(const Config& config);
LeaseRowFeed::ListenerFactory LeaseListenerFactory(const Config& config, bool listen);

StatusOr<std::unique_ptr<RestKubeApi>> OpenKubeApi(const Config& config,
                                                   KubeRequestObserver observer = nullptr);

// True for the store errors that no retry can fix (missing table, wrong
// password, no privilege, bad URL).
bool IsFatalStoreError(const Status& status);

}  // namespace amsha

#endif  // AMS_HA_CLI_BACKENDS_H_
