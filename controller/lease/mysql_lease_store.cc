// The MariaDB Connector/C adapter: the only file in controller/ that includes
// mysql.h. Every driver error becomes a Status here (lease/mysql_errors.h).
#include "lease/mysql_lease_store.h"

#include <mysql.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "lease/call_watchdog.h"
#include "lease/mysql_errors.h"
#include "lease/mysql_schema_ddl.h"
#include "lease/mysql_url.h"
#include "lease/postgres_conninfo.h"

namespace amsha {
namespace {

// The server's clock in ms, one instant per statement (NOW() is the time the
// statement began, however often it is referenced; SYSDATE() would not be).
constexpr char kNow[] = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)";

constexpr char kColumns[] =
    "cluster_name, service_name, node_id, node_ip, server_info_json, lease_expire_ts, version,"
    " updated_at";

constexpr std::chrono::milliseconds kWatchdogGrace{1000};

// Cluster names per SELECT of ReadClusterRows.
constexpr size_t kReadChunk = 2000;

// mysql_library_init is not thread-safe; mysql_init calls it lazily.
void InitLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

unsigned int WholeSeconds(std::chrono::milliseconds d) {
  return static_cast<unsigned int>((d.count() + 999) / 1000);
}

// `a`.`b` or `a` for a validated name ([a-z_][a-z0-9_]* parts).
std::string QuoteMysqlTable(const std::string& table) {
  size_t dot = table.find('.');
  if (dot == std::string::npos) return "`" + table + "`";
  return "`" + table.substr(0, dot) + "`.`" + table.substr(dot + 1) + "`";
}

using Row = std::vector<std::optional<std::string>>;

LeaseRecord RecordFromRow(const Row& r) {
  LeaseRecord rec;
  rec.key.cluster_name = r[0].value_or("");
  rec.key.service_name = r[1].value_or("");
  rec.node_id = r[2];
  rec.node_ip = r[3];
  rec.server_info_json = r[4];
  if (r[5]) rec.lease_expire_ts_ms = std::stoll(*r[5]);
  rec.version = r[6] ? std::stoi(*r[6]) : 0;
  rec.updated_at_ms = r[7] ? std::stoll(*r[7]) : 0;
  rec.db_now_ms = r[8] ? std::stoll(*r[8]) : 0;
  return rec;
}

}  // namespace

class MysqlLeaseStore::Engine : public SqlLeaseEngine {
 public:
  Engine(LeaseDatabaseOptions options, MysqlUrl url)
      : options_(std::move(options)),
        url_(std::move(url)),
        table_(QuoteMysqlTable(options_.table)) {
    if (!options_.password.empty()) url_.password = options_.password;
  }
  ~Engine() override { Drop(); }

  unsigned long ConnectionId() const {
    std::lock_guard<std::mutex> lock(mu_);
    return conn_ ? mysql_thread_id(conn_) : 0;
  }

  void Disconnect() override {
    std::lock_guard<std::mutex> lock(mu_);
    Drop();
  }

  StatusOr<std::optional<LeaseRecord>> ReadRow(const LeaseKey& key) override {
    std::optional<LeaseRecord> out;
    Status s = Call(MysqlErrorContext::Operation::kLease, 1, [&] {
      std::vector<Row> rows;
      Status q = Query("SELECT " + std::string(kColumns) + ", " + kNow + " FROM " + table_ +
                           " WHERE " + KeyIs(key),
                       &rows);
      if (q.ok() && !rows.empty()) out = RecordFromRow(rows[0]);
      return q;
    });
    if (!s.ok()) return s;
    return out;
  }

  // IN lists of escaped literals, kReadChunk names per statement: one
  // statement for up to that many clusters, a few for more (each far below
  // max_allowed_packet).
  StatusOr<std::vector<LeaseRecord>> ReadClusterRows(
      const std::vector<std::string>& cluster_names) override {
    std::vector<LeaseRecord> out;
    const int statements = static_cast<int>((cluster_names.size() + kReadChunk - 1) / kReadChunk);
    Status s = Call(MysqlErrorContext::Operation::kLease, statements, [&] {
      out.clear();
      for (size_t at = 0; at < cluster_names.size(); at += kReadChunk) {
        std::string in;
        for (size_t i = at; i < std::min(cluster_names.size(), at + kReadChunk); ++i) {
          if (!in.empty()) in += ", ";
          in += Lit(cluster_names[i]);
        }
        std::vector<Row> rows;
        Status q = Query("SELECT " + std::string(kColumns) + ", " + kNow + " FROM " + table_ +
                             " WHERE cluster_name IN (" + in + ")",
                         &rows);
        if (!q.ok()) return q;
        for (const Row& row : rows) out.push_back(RecordFromRow(row));
      }
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<std::optional<LeaseRecord>> AcquireRow(const LeaseKey& key, const LeaseHolder& holder,
                                                  int64_t ttl_ms) override {
    std::optional<LeaseRecord> out;
    Status s = Call(MysqlErrorContext::Operation::kLease, 5, [&] {
      // Autocommitted: the row exists afterwards whoever created it (a no-op
      // upsert: Amoro's rows start empty too, version 0); the conditional
      // UPDATE alone decides who holds it.
      Status created = Exec("INSERT INTO " + table_ +
                            " (cluster_name, service_name, version, updated_at) VALUES (" +
                            Lit(key.cluster_name) + ", " + Lit(key.service_name) + ", 0, " + kNow +
                            ") ON DUPLICATE KEY UPDATE cluster_name = cluster_name");
      if (!created.ok()) return created;
      return WriteAndReselect(key,
                              "SET node_id = " + Lit(holder.node_id) +
                                  ", node_ip = " + Lit(holder.node_ip) +
                                  ", server_info_json = " + Lit(holder.server_info_json) +
                                  ", lease_expire_ts = " + kNow + " + " + std::to_string(ttl_ms) +
                                  ", version = version + 1, updated_at = " + kNow,
                              " AND (node_id IS NULL OR lease_expire_ts IS NULL OR"
                              " lease_expire_ts <= " +
                                  std::string(kNow) + ")",
                              &out);
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<std::optional<LeaseRecord>> RenewRow(const LeaseKey& key, const std::string& node_id,
                                                int32_t version, int64_t ttl_ms,
                                                const std::string* server_info_json) override {
    std::optional<LeaseRecord> out;
    Status s = Call(MysqlErrorContext::Operation::kLease, 4, [&] {
      std::string set = "SET lease_expire_ts = " + std::string(kNow) + " + " +
                        std::to_string(ttl_ms) + ", version = version + 1, updated_at = " + kNow;
      if (server_info_json != nullptr) set += ", server_info_json = " + Lit(*server_info_json);
      return WriteAndReselect(key, set,
                              " AND node_id = " + Lit(node_id) + " AND version = " +
                                  std::to_string(version) + " AND lease_expire_ts > " + kNow,
                              &out);
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<std::optional<LeaseRecord>> HandOverRow(const LeaseKey& key,
                                                   const std::string& from_node_id, int32_t version,
                                                   const LeaseHolder& to, int64_t ttl_ms) override {
    std::optional<LeaseRecord> out;
    Status s = Call(MysqlErrorContext::Operation::kLease, 4, [&] {
      // No expiry condition: the current holder's controller decides.
      return WriteAndReselect(
          key,
          "SET node_id = " + Lit(to.node_id) + ", node_ip = " + Lit(to.node_ip) +
              ", server_info_json = " + Lit(to.server_info_json) + ", lease_expire_ts = " + kNow +
              " + " + std::to_string(ttl_ms) + ", version = version + 1, updated_at = " + kNow,
          " AND node_id = " + Lit(from_node_id) + " AND version = " + std::to_string(version),
          &out);
    });
    if (!s.ok()) return s;
    return out;
  }

  StatusOr<bool> ReleaseRow(const LeaseKey& key, const std::string& node_id,
                            int32_t version) override {
    bool released = false;
    Status s = Call(MysqlErrorContext::Operation::kLease, 1, [&] {
      // Expired now, and version + 1 so that a Renew racing it fails.
      Status u =
          Exec("UPDATE " + table_ + " SET lease_expire_ts = " + kNow +
               ", version = version + 1, updated_at = " + kNow + " WHERE " + KeyIs(key) +
               " AND node_id = " + Lit(node_id) + " AND version = " + std::to_string(version));
      released = u.ok() && mysql_affected_rows(conn_) == 1;
      return u;
    });
    if (!s.ok()) return s;
    return released;
  }

  StatusOr<bool> PublishRows(const std::string& cluster_name, const std::string& holder_node_id,
                             int32_t holder_version, const LeaseHolder& table_service,
                             const LeaseHolder& optimizing_service) override {
    bool published = false;
    Status s = Call(MysqlErrorContext::Operation::kLease, 4, [&] {
      Status b = Exec("START TRANSACTION");
      if (!b.ok()) return b;
      // A locking read sees the newest committed AMS row (not the
      // transaction's snapshot) and holds it shared until COMMIT: a
      // hand-over that committed first fails the condition, one in flight
      // makes this wait, and none can commit between check and upsert.
      std::vector<Row> holder;
      Status q = Query("SELECT 1 FROM " + table_ + " WHERE cluster_name = " + Lit(cluster_name) +
                           " AND service_name = '" + kAmsServiceName +
                           "' AND node_id = " + Lit(holder_node_id) +
                           " AND version = " + std::to_string(holder_version) +
                           " AND lease_expire_ts > " + kNow + " LOCK IN SHARE MODE",
                       &holder);
      if (!q.ok() || holder.empty()) return RollBack(q);
      auto values = [&](const char* service, const LeaseHolder& h) {
        return "(" + Lit(cluster_name) + ", '" + service + "', " + Lit(h.node_id) + ", " +
               Lit(h.node_ip) + ", " + Lit(h.server_info_json) + ", 0, " + kNow + ")";
      };
      Status u = Exec("INSERT INTO " + table_ +
                      " (cluster_name, service_name, node_id, node_ip, server_info_json, version,"
                      " updated_at) VALUES " +
                      values(kTableServiceName, table_service) + ", " +
                      values(kOptimizingServiceName, optimizing_service) +
                      " ON DUPLICATE KEY UPDATE node_id = VALUES(node_id),"
                      " node_ip = VALUES(node_ip), server_info_json = VALUES(server_info_json),"
                      " version = version + 1, updated_at = VALUES(updated_at)");
      if (!u.ok()) return RollBack(u);
      Status c = Exec("COMMIT");
      published = c.ok();
      return c;
    });
    if (!s.ok()) return s;
    return published;
  }

  Status ApplySchema() override {
    StatusOr<std::string> ddl = MysqlSchemaDdlFor(options_.table);
    if (!ddl.ok()) return ddl.status();
    return Call(MysqlErrorContext::Operation::kSchema, 1, [&] { return Exec(*ddl); });
  }

 private:
  // Runs `body` on the connection (opened first if needed) under the mutex
  // and the watchdog; `statements` sizes the watchdog's budget.
  Status Call(MysqlErrorContext::Operation op, int statements,
              const std::function<Status()>& body) {
    std::lock_guard<std::mutex> lock(mu_);
    operation_ = op;
    Status status = Connect();
    if (!status.ok()) return status;
    auto budget = options_.statement_timeout * statements + kWatchdogGrace;
    watchdog_.Arm(static_cast<int>(mysql_get_socket(conn_)),
                  std::chrono::steady_clock::now() + budget);
    status = body();
    if (watchdog_.Disarm()) {
      Drop();
      return UnavailableError("no answer from the database within " +
                              std::to_string(budget.count()) +
                              " ms; dropped the connection (a write's outcome is unknown)");
    }
    return status;
  }

  // UPDATE ... WHERE key AND `condition`; if it wrote the row, the row as
  // it left it, read in the same transaction (the row lock is held, so no
  // other writer comes between); the UPDATE's own instant is db_now_ms.
  Status WriteAndReselect(const LeaseKey& key, const std::string& set, const std::string& condition,
                          std::optional<LeaseRecord>* out) {
    Status b = Exec("START TRANSACTION");
    if (!b.ok()) return b;
    Status u = Exec("UPDATE " + table_ + " " + set + " WHERE " + KeyIs(key) + condition);
    if (!u.ok() || mysql_affected_rows(conn_) != 1) return RollBack(u);
    std::vector<Row> rows;
    Status q = Query(
        "SELECT " + std::string(kColumns) + ", updated_at FROM " + table_ + " WHERE " + KeyIs(key),
        &rows);
    if (!q.ok()) return RollBack(q);
    Status c = Exec("COMMIT");
    if (!c.ok()) return c;
    if (!rows.empty()) *out = RecordFromRow(rows[0]);
    return Status::Ok();
  }

  // Ends the transaction after a failed or refused write; `why` is returned.
  Status RollBack(const Status& why) {
    if (conn_ != nullptr && mysql_real_query(conn_, "ROLLBACK", 8) != 0) Drop();
    return why;
  }

  Status Connect() {
    if (conn_ != nullptr) return Status::Ok();
    InitLibraryOnce();
    MYSQL* m = mysql_init(nullptr);
    if (m == nullptr) return UnavailableError("MariaDB Connector/C: out of memory");
    unsigned int connect_s = WholeSeconds(options_.connect_timeout);
    // Read and write timeouts: a backstop under the watchdog for a server
    // that stops answering mid-statement.
    unsigned int io_s = WholeSeconds(options_.statement_timeout) + 1;
    my_bool off = 0;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io_s);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io_s);
    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (url_.ssl_mode != MysqlUrl::SslMode::kDisabled) {
      my_bool on = 1;
      my_bool verify = url_.ssl_mode == MysqlUrl::SslMode::kVerifyIdentity ? 1 : 0;
      mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
      mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
      auto set = [m](mysql_option o, const std::string& v) {
        if (!v.empty()) mysql_optionsv(m, o, v.c_str());
      };
      set(MYSQL_OPT_SSL_CA, url_.ssl_ca);
      set(MYSQL_OPT_SSL_CAPATH, url_.ssl_capath);
      set(MYSQL_OPT_SSL_CERT, url_.ssl_cert);
      set(MYSQL_OPT_SSL_KEY, url_.ssl_key);
      set(MYSQL_OPT_SSL_CIPHER, url_.ssl_cipher);
      set(MARIADB_OPT_TLS_VERSION, url_.tls_version);
    }
    const char* password = url_.password.empty() ? nullptr : url_.password.c_str();
    const char* socket = url_.socket.empty() ? nullptr : url_.socket.c_str();
    if (mysql_real_connect(m, url_.host.c_str(), url_.user.c_str(), password, url_.database.c_str(),
                           url_.port, socket, CLIENT_FOUND_ROWS) == nullptr) {
      Status s = Classify(mysql_errno(m), mysql_error(m));
      mysql_close(m);
      return s;
    }
    conn_ = m;
    const bool mariadb = std::string(mysql_get_server_info(m)).find("MariaDB") != std::string::npos;
    // The statement timeout: MariaDB's max_statement_time (seconds) bounds
    // every statement; MySQL's max_execution_time (ms) only SELECTs, so
    // there the lock-wait timeout and the watchdog bound the writes.
    const std::string statement_timeout =
        mariadb
            ? "max_statement_time = " + std::to_string(options_.statement_timeout.count() / 1000.0)
            : "max_execution_time = " + std::to_string(options_.statement_timeout.count());
    Status set_up = Exec(
        "SET SESSION time_zone = '+00:00', autocommit = 1,"
        " sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', innodb_lock_wait_timeout = " +
        std::to_string(WholeSeconds(options_.statement_timeout)) + ", " + statement_timeout);
    if (!set_up.ok()) {
      Drop();
      return set_up;
    }
    return Status::Ok();
  }

  void Drop() {
    if (conn_ != nullptr) mysql_close(conn_);
    conn_ = nullptr;
  }

  // Runs one statement, discarding any result.
  Status Exec(const std::string& sql) {
    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return Failed();
    MYSQL_RES* res = mysql_store_result(conn_);
    if (res != nullptr) mysql_free_result(res);
    return Status::Ok();
  }

  // Runs one query and returns its rows, NULLs as nullopt.
  Status Query(const std::string& sql, std::vector<Row>* rows) {
    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) return Failed();
    MYSQL_RES* res = mysql_store_result(conn_);
    if (res == nullptr) {
      if (mysql_errno(conn_) != 0) return Failed();
      return Status::Ok();
    }
    const unsigned int n = mysql_num_fields(res);
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
      unsigned long* lengths = mysql_fetch_lengths(res);
      Row out(n);
      for (unsigned int i = 0; i < n; ++i) {
        if (row[i] != nullptr) out[i] = std::string(row[i], lengths[i]);
      }
      rows->push_back(std::move(out));
    }
    mysql_free_result(res);
    return Status::Ok();
  }

  // The failed statement's error; drops the connection unless the session
  // is known to survive it.
  Status Failed() {
    const unsigned int errnum = mysql_errno(conn_);
    Status s = Classify(errnum, mysql_error(conn_));
    if (!MysqlConnectionSurvives(errnum)) Drop();
    return s;
  }

  Status Classify(unsigned int errnum, const std::string& message) const {
    MysqlErrorContext c;
    c.operation = operation_;
    c.table = options_.table;
    c.database = url_.database;
    c.user = url_.user;
    Status s = StatusFromMysqlError(errnum, message, c);
    return Status(s.code(), RedactSecret(s.message(), url_.password));
  }

  // A string literal, escaped for the connection's character set.
  std::string Lit(const std::string& value) const {
    std::string out(value.size() * 2 + 1, '\0');
    unsigned long n = mysql_real_escape_string(conn_, &out[0], value.data(), value.size());
    out.resize(n);
    return "'" + out + "'";
  }

  std::string KeyIs(const LeaseKey& key) const {
    return "cluster_name = " + Lit(key.cluster_name) +
           " AND service_name = " + Lit(key.service_name);
  }

  const LeaseDatabaseOptions options_;
  MysqlUrl url_;  // with the password: never logged
  const std::string table_;

  mutable std::mutex mu_;
  MYSQL* conn_ = nullptr;
  MysqlErrorContext::Operation operation_ = MysqlErrorContext::Operation::kLease;
  CallWatchdog watchdog_;
};

StatusOr<std::unique_ptr<MysqlLeaseStore>> MysqlLeaseStore::Create(LeaseDatabaseOptions options) {
  Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  StatusOr<MysqlUrl> url = ParseMysqlUrl(options.url);
  if (!url.ok()) return url.status();
  return std::unique_ptr<MysqlLeaseStore>(
      new MysqlLeaseStore(new Engine(std::move(options), std::move(url).value())));
}

MysqlLeaseStore::MysqlLeaseStore(Engine* engine)
    : SqlLeaseStore(std::unique_ptr<SqlLeaseEngine>(engine)), engine_(engine) {}

unsigned long MysqlLeaseStore::ConnectionId() const { return engine_->ConnectionId(); }

StatusOr<std::string> MysqlSchemaDdlFor(const std::string& table) {
  Status valid = ValidateTableName(table);
  if (!valid.ok()) return valid;
  const std::string ddl = kMysqlSchemaDdl;
  if (table == "ha_lease") return ddl;
  const std::string from = "CREATE TABLE IF NOT EXISTS ha_lease (";
  size_t at = ddl.find(from);
  if (at == std::string::npos) return InternalError("sql/mysql/ha_lease.sql has no CREATE TABLE");
  return ddl.substr(0, at) + "CREATE TABLE IF NOT EXISTS " + QuoteMysqlTable(table) + " (" +
         ddl.substr(at + from.size());
}

}  // namespace amsha
