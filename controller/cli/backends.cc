#include "cli/backends.h"

#include "kube/kube_connection.h"
#include "lease/mysql_lease_store.h"
#include "lease/mysql_url.h"

namespace amsha {

LeaseDatabaseOptions DatabaseOptions(const Config& config) {
  LeaseDatabaseOptions options;
  options.url = config.database.url;
  options.password = config.database.password;
  options.connect_timeout = config.database.connect_timeout;
  options.statement_timeout = config.database.statement_timeout;
  return options;
}

bool UsesMysql(const Config& config) { return IsMysqlUrl(config.database.url); }

StatusOr<std::unique_ptr<SqlLeaseStore>> OpenLeaseStore(const Config& config) {
  if (UsesMysql(config)) {
    auto store = MysqlLeaseStore::Create(DatabaseOptions(config));
    if (!store.ok()) return store.status();
    return std::unique_ptr<SqlLeaseStore>(std::move(store).value());
  }
  auto store = PostgresLeaseStore::Create(DatabaseOptions(config));
  if (!store.ok()) return store.status();
  return std::unique_ptr<SqlLeaseStore>(std::move(store).value());
}

StatusOr<std::unique_ptr<LeaseChangeNotifier>> OpenLeaseNotifier(const Config& config,
                                                                 const std::string& cluster) {
  if (!config.gate.listen || UsesMysql(config)) {
    return std::unique_ptr<LeaseChangeNotifier>(std::make_unique<PollingNotifier>());
  }
  auto listening = PostgresLeaseNotifier::Create(DatabaseOptions(config), cluster);
  if (!listening.ok()) return listening.status();
  return std::unique_ptr<LeaseChangeNotifier>(std::move(listening).value());
}

StatusOr<std::unique_ptr<RestKubeApi>> OpenKubeApi(const Config& config,
                                                   KubeRequestObserver observer) {
  auto connection = LoadKubeConnection(config.kubernetes.kubeconfig);
  if (!connection.ok()) return connection.status();
  if (!config.kubernetes.namespace_name.empty()) {
    connection->namespace_name = config.kubernetes.namespace_name;
  }
  if (connection->namespace_name.empty()) connection->namespace_name = "default";
  RestKubeApiOptions options;
  options.observer = std::move(observer);
  return RestKubeApi::Create(connection.value(), options);
}

bool IsFatalStoreError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kFailedPrecondition:
    case StatusCode::kPermissionDenied:
    case StatusCode::kUnauthenticated:
    case StatusCode::kInvalidArgument:
      return true;
    default:
      return false;
  }
}

}  // namespace amsha
