#include "cli/backends.h"

#include "kube/kube_connection.h"
#include "lease/postgres_conninfo.h"

namespace amsha {

PostgresConnectionOptions DatabaseOptions(const Config& config) {
  PostgresConnectionOptions options;
  const DatabaseTlsConfig& tls = config.database.tls;
  options.url = AppendConnParams(config.database.url,
                                 TlsConnParams(tls.mode, tls.ca_file, tls.cert_file, tls.key_file));
  options.password = config.database.password;
  options.connect_timeout = config.database.connect_timeout;
  options.statement_timeout = config.database.statement_timeout;
  return options;
}

StatusOr<std::unique_ptr<PostgresLeaseStore>> OpenLeaseStore(const Config& config) {
  return PostgresLeaseStore::Create(DatabaseOptions(config));
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
