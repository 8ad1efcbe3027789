#include "cli/backends.h"

#include "kube/kube_connection.h"
#include "lease/mysql_lease_store.h"
#include "lease/mysql_url.h"
#include "lease/postgres_conninfo.h"
#include "lease/postgres_listener.h"

namespace amsha {
namespace {

// database.tls as mysql:// query parameters (later ones win in ParseMysqlUrl,
// so these override the URL's own, as the libpq keywords do for PostgreSQL).
std::string WithMysqlTls(std::string url, const DatabaseTlsConfig& tls) {
  std::string mode;
  if (tls.mode == "disable") {
    mode = "DISABLED";
  } else if (tls.mode == "allow" || tls.mode == "prefer" || tls.mode == "require") {
    mode = "REQUIRED";
  } else if (tls.mode == "verify-ca" || tls.mode == "verify-full" ||
             (tls.mode.empty() && !tls.ca_file.empty())) {
    // Connector/C checks the certificate's name whenever it verifies.
    mode = "VERIFY_IDENTITY";
  }
  for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"ssl-mode", mode},
                                   {"ssl-ca", tls.ca_file},
                                   {"ssl-cert", tls.cert_file},
                                   {"ssl-key", tls.key_file}}) {
    if (value.empty()) continue;
    url += (url.find('?') == std::string::npos ? "?" : "&") + std::string(key) + "=" +
           PercentEncode(value);
  }
  return url;
}

}  // namespace

LeaseDatabaseOptions DatabaseOptions(const Config& config) {
  LeaseDatabaseOptions options;
  const DatabaseTlsConfig& tls = config.database.tls;
  options.url =
      IsMysqlUrl(config.database.url)
          ? WithMysqlTls(config.database.url, tls)
          : AppendConnParams(config.database.url,
                             TlsConnParams(tls.mode, tls.ca_file, tls.cert_file, tls.key_file));
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

LeaseStorePool::Factory LeaseStoreFactory(const Config& config) {
  return [&config] { return OpenLeaseStore(config); };
}

LeaseRowFeed::ListenerFactory LeaseListenerFactory(const Config& config, bool listen) {
  if (!listen || UsesMysql(config)) return nullptr;
  LeaseDatabaseOptions options = DatabaseOptions(config);
  return [options](LeaseListener::Callbacks callbacks) {
    return StartPostgresListener(options, std::move(callbacks));
  };
}

StatusOr<std::unique_ptr<RestKubeApi>> OpenKubeApi(const Config& config,
                                                   KubeRequestObserver observer) {
  auto connection = LoadKubeConnection(config.kubernetes.kubeconfig, config.kubernetes.context);
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
