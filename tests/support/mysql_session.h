// MysqlSession: a plain MySQL/MariaDB connection for tests: set-up as root
// (users, grants, KILL, dropping tables), checks of what a store wrote, and
// playing another client of ha_lease (AmoroHaWriter, through the SqlClient
// seam). The MySQL twin of SqlSession; the only test-support file that
// includes mysql.h.
// Statements run one at a time in autocommit mode, so "BEGIN" ... "COMMIT"
// sent as separate Exec() calls hold a transaction open across them. Errors
// are values: "MySQL error N: message". Not thread-safe.
#ifndef AMS_HA_TESTS_SUPPORT_MYSQL_SESSION_H_
#define AMS_HA_TESTS_SUPPORT_MYSQL_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "support/sql_client.h"

namespace amsha::testing {

class MysqlSession : public SqlClient {
 public:
  // `url`: mysql://user@host:port/db or ...?socket=PATH; connects at once.
  // `application`, when given, is sent as the connection attribute
  // program_name. Rows are counted as matched (CLIENT_FOUND_ROWS), as
  // JDBC reports them.
  static StatusOr<std::unique_ptr<MysqlSession>> Open(const std::string& url,
                                                      const std::string& password = "",
                                                      const std::string& application = "");
  ~MysqlSession() override;

  // SqlClient: each `?` becomes the parameter as a literal (a number bare,
  // text escaped and quoted, NULL), which is what MySQL Connector/J's
  // default client-side prepared statements send.
  StatusOr<Result> Execute(const std::string& sql, const std::vector<Param>& params) override;

  StatusOr<Result> Exec(const std::string& sql);
  // The first column of the first row; "" for no row or NULL.
  StatusOr<std::string> Scalar(const std::string& sql);
  // `s` as an escaped SQL string literal.
  std::string Literal(const std::string& s);

 private:
  struct Impl;
  explicit MysqlSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_MYSQL_SESSION_H_
