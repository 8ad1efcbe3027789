// mysql:// and mariadb:// URLs for MysqlLeaseStore: pure functions, apart
// from the Connector/C adapter so that they are unit-tested without a server.
//
//   mysql://USER@HOST[:PORT]/DATABASE[?key=value&...]   (mariadb:// alike)
//
// Query keys (values percent-decoded):
//   ssl-mode   DISABLED (default) | REQUIRED (TLS, no certificate check) |
//              VERIFY_IDENTITY (TLS, the server's certificate is checked
//              against ssl-ca/ssl-capath and its name against HOST)
//   ssl-ca, ssl-capath, ssl-cert, ssl-key, ssl-cipher, tls-version
//              as the MariaDB Connector/C options of those names
//   socket     a Unix socket path, used instead of HOST:PORT
// A password in the URL is accepted but discouraged: database.passwordFile
// or AMS_HA_DB_PASSWORD add it apart from the URL (and win). Thread-safe.
#ifndef AMS_HA_LEASE_MYSQL_URL_H_
#define AMS_HA_LEASE_MYSQL_URL_H_

#include <string>

#include "common/status.h"

namespace amsha {

struct MysqlUrl {
  enum class SslMode { kDisabled, kRequired, kVerifyIdentity };
  std::string user;
  std::string password;  // from the URL; empty when not given there
  std::string host = "localhost";
  unsigned int port = 3306;
  std::string database;
  std::string socket;
  SslMode ssl_mode = SslMode::kDisabled;
  std::string ssl_ca, ssl_capath, ssl_cert, ssl_key, ssl_cipher, tls_version;
};

// True for mysql:// and mariadb:// (case-insensitive scheme).
bool IsMysqlUrl(const std::string& url);

// kInvalidArgument, naming the part that is wrong (and never quoting a
// password), for anything else: another scheme, no user or database, a bad
// port, an unknown query key or ssl-mode.
StatusOr<MysqlUrl> ParseMysqlUrl(const std::string& url);

}  // namespace amsha

#endif  // AMS_HA_LEASE_MYSQL_URL_H_
