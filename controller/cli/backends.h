// Opening the real backends from a Config: PostgreSQL lease stores and the
// Kubernetes API client. Shared by run, status and switchover. Each failure
// is returned as one line that names what is wrong and what to do.
#ifndef AMS_HA_CLI_BACKENDS_H_
#define AMS_HA_CLI_BACKENDS_H_

#include <memory>

#include "common/status.h"
#include "config/config.h"
#include "kube/rest_kube_api.h"
#include "lease/postgres_lease_store.h"

namespace amsha {

// The `database` section as connection options (also for the gate's
// PostgresLeaseNotifier).
PostgresConnectionOptions DatabaseOptions(const Config& config);

StatusOr<std::unique_ptr<PostgresLeaseStore>> OpenLeaseStore(const Config& config);

StatusOr<std::unique_ptr<RestKubeApi>> OpenKubeApi(const Config& config,
                                                   KubeRequestObserver observer = nullptr);

// True for the store errors that no retry can fix (missing table, wrong
// password, no privilege, bad URL).
bool IsFatalStoreError(const Status& status);

}  // namespace amsha

#endif  // AMS_HA_CLI_BACKENDS_H_
