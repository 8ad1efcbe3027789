// SqlClient: one plain connection to the lease database in a test, whichever
// engine holds it. It is the seam through which AmoroHaWriter (and the
// follow-mode tests) issue Apache Amoro's own statements: SqlSession
// implements it on PostgreSQL (libpqxx), MysqlSession on MySQL/MariaDB
// (MariaDB Connector/C); OpenSqlClient() picks one by the URL's scheme.
//
// Execute() takes Amoro's statements as its mapper writes them, with
// JDBC-style `?` placeholders bound in order, the way MyBatis sends them:
// numbers as numbers (setLong/setInt), text as text, NULL as NULL. Errors
// are values. Not thread-safe: one client per thread.
#ifndef AMS_HA_TESTS_SUPPORT_SQL_CLIENT_H_
#define AMS_HA_TESTS_SUPPORT_SQL_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"

namespace amsha::testing {

class SqlClient {
 public:
  using Value = std::optional<std::string>;  // nullopt is SQL NULL
  using Row = std::vector<Value>;
  struct Result {
    std::vector<Row> rows;
    int64_t affected_rows = 0;  // rows matched, as JDBC reports them
  };
  // A bound parameter: NULL, text, or an integer.
  using Param = std::variant<std::nullptr_t, std::string, int64_t>;

  virtual ~SqlClient() = default;

  // One statement with `?` placeholders (outside quoted literals) bound
  // from `params` in order.
  virtual StatusOr<Result> Execute(const std::string& sql, const std::vector<Param>& params) = 0;
  // The first column of the first row of Execute(); "" for no row or NULL.
  StatusOr<std::string> Single(const std::string& sql, const std::vector<Param>& params = {});
};

// A PostgreSQL URI or key=value string (SqlSession), or a mysql:// or
// mariadb:// URL (MysqlSession), with `password` (empty: none or the URL's
// own). `application` names the session where the engine has a name for
// it: application_name on PostgreSQL (empty: "ams-ha-test", never the
// controller's name); on MySQL the connection attribute program_name.
StatusOr<std::unique_ptr<SqlClient>> OpenSqlClient(const std::string& url,
                                                   const std::string& password,
                                                   const std::string& application);

// `sql` with each `?` outside '...' and "..." literals replaced by
// placeholder(i), i counting from 0: the shared half of both adapters'
// Execute(). kInvalidArgument when the count differs from `params`.
StatusOr<std::string> BindPlaceholders(const std::string& sql, size_t params,
                                       const std::function<std::string(size_t)>& placeholder);

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_SQL_CLIENT_H_
