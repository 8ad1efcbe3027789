#include "support/sql_client.h"

#include <chrono>

#include "lease/mysql_url.h"
#include "lease/postgres_conninfo.h"
#include "support/mysql_session.h"
#include "support/sql_session.h"

namespace amsha::testing {

StatusOr<std::string> SqlClient::Single(const std::string& sql, const std::vector<Param>& params) {
  StatusOr<Result> r = Execute(sql, params);
  if (!r.ok()) return r.status();
  if (r->rows.empty() || r->rows[0].empty() || !r->rows[0][0]) return std::string();
  return *r->rows[0][0];
}

StatusOr<std::unique_ptr<SqlClient>> OpenSqlClient(const std::string& url,
                                                   const std::string& password,
                                                   const std::string& application) {
  if (IsMysqlUrl(url)) {
    auto session = MysqlSession::Open(url, password, application);
    if (!session.ok()) return session.status();
    return std::unique_ptr<SqlClient>(std::move(session).value());
  }
  // ComposeConnInfo names the session ams-ha-controller (a fallback):
  // a test's session must never pass for the controller.
  const std::string conninfo =
      AppendConnParams(ComposeConnInfo(url, password, std::chrono::seconds(5)),
                       {{"application_name", application.empty() ? "ams-ha-test" : application}});
  auto session = SqlSession::Open(conninfo);
  if (!session.ok()) return session.status();
  return std::unique_ptr<SqlClient>(std::move(session).value());
}

StatusOr<std::string> BindPlaceholders(const std::string& sql, size_t params,
                                       const std::function<std::string(size_t)>& placeholder) {
  std::string out;
  out.reserve(sql.size() + params * 4);
  size_t bound = 0;
  char quote = 0;  // the quote of the literal we are in, if any
  for (char c : sql) {
    if (quote != 0) {
      if (c == quote) quote = 0;  // '' inside a literal closes and reopens
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += placeholder(bound++);
    } else {
      out += c;
    }
  }
  if (bound != params) {
    return InvalidArgumentError("the statement has " + std::to_string(bound) +
                                " placeholders for " + std::to_string(params) + " parameters");
  }
  return out;
}

}  // namespace amsha::testing
