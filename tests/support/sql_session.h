// SqlSession: a plain PostgreSQL connection for tests: set-up as the
// superuser (roles, grants, pg_terminate_backend, dropping tables), checks of
// what a store wrote, and playing another client of ha_lease (AmoroHaWriter,
// through the SqlClient seam).
//
// The only test-support file that includes libpqxx. Statements run one at a
// time in autocommit mode, so "BEGIN" ... "COMMIT" sent as separate Exec()
// calls hold a transaction (and its row locks) open across them. Errors are
// values: the Status message is "SQLSTATE xxxxx: message". Not thread-safe:
// one session per thread.
#ifndef AMS_HA_TESTS_SUPPORT_SQL_SESSION_H_
#define AMS_HA_TESTS_SUPPORT_SQL_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "support/sql_client.h"

namespace amsha::testing {

class SqlSession : public SqlClient {
 public:
  // `conninfo`: a libpq URI or key=value string (ComposeConnInfo() adds a
  // password). Connects at once.
  static StatusOr<std::unique_ptr<SqlSession>> Open(const std::string& conninfo);
  ~SqlSession() override;

  // SqlClient: `?` become $1..$n; every parameter travels as text and
  // PostgreSQL types it from its column, as for a JDBC setLong.
  StatusOr<Result> Execute(const std::string& sql, const std::vector<Param>& params) override;

  // One statement, $1..$n bound from `params`.
  StatusOr<Result> Exec(const std::string& sql, const std::vector<Value>& params = {});
  // The first column of the first row; "" for no row or NULL.
  StatusOr<std::string> Scalar(const std::string& sql, const std::vector<Value>& params = {});
  // `s` as an escaped SQL string literal, for the few statements that take
  // no parameters (CREATE ROLE ... PASSWORD '...').
  std::string Literal(const std::string& s);

 private:
  class Impl;
  explicit SqlSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_SQL_SESSION_H_
