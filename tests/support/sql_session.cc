#include "support/sql_session.h"

#include <pqxx/pqxx>
#include <utility>

namespace amsha::testing {

class SqlSession::Impl {
 public:
  explicit Impl(const std::string& conninfo) : conn(conninfo) {}
  pqxx::connection conn;
};

StatusOr<std::unique_ptr<SqlSession>> SqlSession::Open(const std::string& conninfo) {
  try {
    return std::unique_ptr<SqlSession>(new SqlSession(std::make_unique<Impl>(conninfo)));
  } catch (const std::exception& e) {
    return UnavailableError(std::string("cannot connect: ") + e.what());
  }
}

SqlSession::SqlSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqlSession::~SqlSession() = default;

StatusOr<SqlSession::Result> SqlSession::Exec(const std::string& sql,
                                              const std::vector<Value>& params) {
  std::vector<const char*> raw;  // nullptr binds NULL
  raw.reserve(params.size());
  for (const Value& v : params) raw.push_back(v ? v->c_str() : nullptr);
  try {
    pqxx::nontransaction tx(impl_->conn);
    pqxx::result r = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(raw));
    Result out;
    out.affected_rows = static_cast<int64_t>(r.affected_rows());
    for (const pqxx::row& row : r) {
      Row values;
      for (const pqxx::field& f : row) {
        values.push_back(f.is_null() ? Value() : Value(f.as<std::string>()));
      }
      out.rows.push_back(std::move(values));
    }
    return out;
  } catch (const pqxx::sql_error& e) {
    return Status(StatusCode::kInternal, "SQLSTATE " + e.sqlstate() + ": " + e.what());
  } catch (const std::exception& e) {
    return UnavailableError(e.what());
  }
}

StatusOr<SqlSession::Result> SqlSession::Execute(const std::string& sql,
                                                 const std::vector<Param>& params) {
  StatusOr<std::string> bound =
      BindPlaceholders(sql, params.size(), [](size_t i) { return "$" + std::to_string(i + 1); });
  if (!bound.ok()) return bound.status();
  std::vector<Value> values;
  values.reserve(params.size());
  for (const Param& p : params) {
    if (const auto* text = std::get_if<std::string>(&p)) {
      values.emplace_back(*text);
    } else if (const auto* number = std::get_if<int64_t>(&p)) {
      values.emplace_back(std::to_string(*number));
    } else {
      values.emplace_back();
    }
  }
  return Exec(*bound, values);
}

StatusOr<std::string> SqlSession::Scalar(const std::string& sql, const std::vector<Value>& params) {
  StatusOr<Result> r = Exec(sql, params);
  if (!r.ok()) return r.status();
  if (r->rows.empty() || r->rows[0].empty() || !r->rows[0][0]) return std::string();
  return *r->rows[0][0];
}

std::string SqlSession::Literal(const std::string& s) { return impl_->conn.quote(s); }

}  // namespace amsha::testing
