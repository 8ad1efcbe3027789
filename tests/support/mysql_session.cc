#include "support/mysql_session.h"

#include <mysql.h>

#include <utility>

#include "lease/mysql_url.h"

namespace amsha::testing {

struct MysqlSession::Impl {
  MYSQL* conn = nullptr;
  ~Impl() {
    if (conn != nullptr) mysql_close(conn);
  }
};

MysqlSession::MysqlSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MysqlSession::~MysqlSession() = default;

StatusOr<std::unique_ptr<MysqlSession>> MysqlSession::Open(const std::string& url,
                                                           const std::string& password,
                                                           const std::string& application) {
  auto parsed = ParseMysqlUrl(url);
  if (!parsed.ok()) return parsed.status();
  auto impl = std::make_unique<Impl>();
  impl->conn = mysql_init(nullptr);
  unsigned int timeout = 10;
  mysql_optionsv(impl->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  if (!application.empty()) {
    mysql_optionsv(impl->conn, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", application.c_str());
  }
  const std::string& pw = password.empty() ? parsed->password : password;
  if (mysql_real_connect(impl->conn, parsed->host.c_str(), parsed->user.c_str(),
                         pw.empty() ? nullptr : pw.c_str(), parsed->database.c_str(), parsed->port,
                         parsed->socket.empty() ? nullptr : parsed->socket.c_str(),
                         CLIENT_FOUND_ROWS) == nullptr) {
    return UnavailableError("MySQL error " + std::to_string(mysql_errno(impl->conn)) + ": " +
                            mysql_error(impl->conn));
  }
  return std::unique_ptr<MysqlSession>(new MysqlSession(std::move(impl)));
}

StatusOr<MysqlSession::Result> MysqlSession::Exec(const std::string& sql) {
  MYSQL* c = impl_->conn;
  if (mysql_real_query(c, sql.data(), sql.size()) != 0) {
    return InternalError("MySQL error " + std::to_string(mysql_errno(c)) + ": " + mysql_error(c));
  }
  Result result;
  MYSQL_RES* res = mysql_store_result(c);
  if (res == nullptr) {
    result.affected_rows = static_cast<int64_t>(mysql_affected_rows(c));
    return result;
  }
  const unsigned int n = mysql_num_fields(res);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* lengths = mysql_fetch_lengths(res);
    Row out(n);
    for (unsigned int i = 0; i < n; ++i) {
      if (row[i] != nullptr) out[i] = std::string(row[i], lengths[i]);
    }
    result.rows.push_back(std::move(out));
  }
  mysql_free_result(res);
  return result;
}

StatusOr<MysqlSession::Result> MysqlSession::Execute(const std::string& sql,
                                                     const std::vector<Param>& params) {
  StatusOr<std::string> bound = BindPlaceholders(sql, params.size(), [&](size_t i) {
    const Param& p = params[i];
    if (const auto* text = std::get_if<std::string>(&p)) return Literal(*text);
    if (const auto* number = std::get_if<int64_t>(&p)) return std::to_string(*number);
    return std::string("NULL");
  });
  if (!bound.ok()) return bound.status();
  return Exec(*bound);
}

StatusOr<std::string> MysqlSession::Scalar(const std::string& sql) {
  auto r = Exec(sql);
  if (!r.ok()) return r.status();
  if (r->rows.empty() || r->rows[0].empty() || !r->rows[0][0]) return std::string();
  return *r->rows[0][0];
}

std::string MysqlSession::Literal(const std::string& s) {
  std::string out(s.size() * 2 + 1, '\0');
  out.resize(mysql_real_escape_string(impl_->conn, &out[0], s.data(), s.size()));
  return "'" + out + "'";
}

}  // namespace amsha::testing
