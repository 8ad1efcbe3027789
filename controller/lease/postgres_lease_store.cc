// The libpqxx adapter of the lease store: with postgres_listener.cc (the
// LISTEN connection) the only files in controller/ that include pqxx (and,
// through it, libpq). Every pqxx exception is caught here and becomes a
// Status (lease/postgres_errors.h).
#include "lease/postgres_lease_store.h"

#include <array>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "lease/call_watchdog.h"
#include "lease/lease_notification.h"
#include "lease/postgres_conninfo.h"
#include "lease/postgres_errors.h"
#include "lease/postgres_listener.h"
#include "lease/postgres_schema.h"

namespace amsha {
namespace {

// Time. "Now" is the database server's clock, read ONCE per statement through
// a one-row subquery joined into it, so WHERE, SET and RETURNING agree on a
// single instant:
//  - not now()/transaction_timestamp(): frozen at BEGIN, so it is stale
//    inside a transaction, or when a pooler keeps a
//    transaction open;
//  - not a bare clock_timestamp() at each use: it is volatile and re-read at
//    every reference, so the expiry test and the new expiry could differ;
//  - clock_timestamp() rather than statement_timestamp(): both are one
//    instant per statement here, but clock_timestamp() is read when the
//    statement runs, never before the server dequeued it.
// If the statement then waits for a row lock, PostgreSQL re-checks WHERE
// against the row the other writer committed, which has a new version and
// expiry: an Acquire cannot take a lease renewed meanwhile and a Renew cannot
// survive a version change. The new expiry is at most the wait short of ttl,
// never longer than asked.
constexpr char kDbNow[] =
    "(SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)";

constexpr char kReturning[] =
    " RETURNING l.cluster_name, l.service_name, l.node_id, l.node_ip, l.server_info_json,"
    " l.lease_expire_ts, l.version, l.updated_at, db.now_ms";

// The NOTIFY payload (lease/lease_notification.h): the row after the write
// as compact JSON, built by the server from the RETURNING row `w`, or the
// bare cluster name when the JSON would not fit NOTIFY's 8000-byte limit
// (a huge server_info_json).
std::string PayloadOf(const char* w) {
  const std::string c = std::string(w) + ".";
  const std::string json = "json_build_object('cluster', " + c + "cluster_name, 'service', " + c +
                           "service_name, 'node_id', " + c + "node_id, 'node_ip', " + c +
                           "node_ip,"
                           " 'server_info_json', " +
                           c + "server_info_json, 'lease_expire_ts', " + c +
                           "lease_expire_ts, 'version', " + c + "version, 'updated_at', " + c +
                           "updated_at, 'db_now', " + c + "now_ms)::text";
  return "CASE WHEN octet_length(" + json + ") < 8000 THEN " + json + " ELSE " + c +
         "cluster_name END";
}

// A write whose row listeners must hear of also queues pg_notify(kLeaseChannel,
// payload): in the same statement, hence the same transaction, so a listener
// is told exactly when the change commits, and never about one that rolled
// back. `update` ends in kReturning; with a `condition` (an SQL expression
// over the CTE `w`), only rows for which it holds notify.
std::string Notifying(const std::string& update, const std::string& condition = "") {
  const std::string notify =
      "pg_notify('" + std::string(kLeaseChannel) + "', " + PayloadOf("w") + ")";
  return "WITH w AS (" + update +
         ") SELECT w.cluster_name, w.service_name, w.node_id, w.node_ip, w.server_info_json,"
         " w.lease_expire_ts, w.version, w.updated_at, w.now_ms, " +
         (condition.empty() ? notify : "CASE WHEN " + condition + " THEN " + notify + " END") +
         " FROM w";
}

// A statement blocked this long past its own statement_timeout means the
// server is not running it (frozen, or the network swallows packets).
constexpr std::chrono::milliseconds kWatchdogGrace{1000};

struct Statement {
  const char* name;
  std::string sql;
};

// The SQL for one table. The (validated, quoted) table name is the only text
// spliced in; every value is a bound parameter.
struct Statements {
  explicit Statements(const std::string& t)
      : read{"amsha_read",
             "SELECT l.cluster_name, l.service_name, l.node_id, l.node_ip, l.server_info_json,"
             " l.lease_expire_ts, l.version, l.updated_at, db.now_ms"
             " FROM " +
                 t + " AS l CROSS JOIN " + kDbNow +
                 " AS db"
                 " WHERE l.cluster_name = $1 AND l.service_name = $2"},
        // $1: a text[] literal (TextArrayLiteral); the primary key's
        // leading column serves = ANY.
        read_clusters{"amsha_read_clusters",
                      "SELECT l.cluster_name, l.service_name, l.node_id, l.node_ip,"
                      " l.server_info_json, l.lease_expire_ts, l.version, l.updated_at, db.now_ms"
                      " FROM " +
                          t + " AS l CROSS JOIN " + kDbNow +
                          " AS db WHERE l.cluster_name = ANY($1::text[])"},
        // Amoro's rows start empty too: no holder, no expiry, version 0.
        create_row{"amsha_create_row", "INSERT INTO " + t +
                                           " AS l (cluster_name, service_name, version, updated_at)"
                                           " SELECT $1, $2, 0, db.now_ms FROM " +
                                           kDbNow +
                                           " AS db"
                                           " ON CONFLICT (cluster_name, service_name) DO NOTHING"},
        acquire{
            "amsha_acquire",
            Notifying("UPDATE " + t +
                      " AS l SET node_id = $3, node_ip = $4, server_info_json = $5,"
                      " lease_expire_ts = db.now_ms + $6::bigint, version = l.version + 1,"
                      " updated_at = db.now_ms FROM " +
                      kDbNow +
                      " AS db"
                      " WHERE l.cluster_name = $1 AND l.service_name = $2 AND (l.node_id IS NULL"
                      " OR l.lease_expire_ts IS NULL OR l.lease_expire_ts <= db.now_ms)" +
                      std::string(kReturning))},
        renew{"amsha_renew",
              "UPDATE " + t +
                  " AS l SET lease_expire_ts = db.now_ms + $5::bigint,"
                  " version = l.version + 1, updated_at = db.now_ms FROM " +
                  kDbNow +
                  " AS db"
                  " WHERE l.cluster_name = $1 AND l.service_name = $2 AND l.node_id = $3"
                  " AND l.version = $4::int AND l.lease_expire_ts > db.now_ms" +
                  std::string(kReturning)},
        // Notifies only when the server info changed: the gate renews every
        // second and its state changes rarely. `o` is the row as this
        // statement's snapshot saw it; if a writer moved it in between (o
        // has another version), notify rather than guess.
        renew_info{"amsha_renew_info",
                   Notifying("UPDATE " + t +
                                 " AS l SET lease_expire_ts = db.now_ms + $5::bigint,"
                                 " server_info_json = $6, version = l.version + 1,"
                                 " updated_at = db.now_ms FROM " +
                                 kDbNow + " AS db, " + t +
                                 " AS o"
                                 " WHERE l.cluster_name = $1 AND l.service_name = $2"
                                 " AND l.node_id = $3 AND l.version = $4::int"
                                 " AND l.lease_expire_ts > db.now_ms"
                                 " AND o.cluster_name = l.cluster_name"
                                 " AND o.service_name = l.service_name" +
                                 std::string(kReturning) +
                                 ", (o.version <> $4::int OR o.server_info_json IS DISTINCT FROM"
                                 " l.server_info_json) AS info_changed",
                             "w.info_changed")},
        // No expiry condition: the current holder's controller decides.
        hand_over{"amsha_hand_over",
                  Notifying("UPDATE " + t +
                            " AS l SET node_id = $5, node_ip = $6, server_info_json = $7,"
                            " lease_expire_ts = db.now_ms + $8::bigint, version = l.version + 1,"
                            " updated_at = db.now_ms FROM " +
                            kDbNow +
                            " AS db"
                            " WHERE l.cluster_name = $1 AND l.service_name = $2 AND l.node_id = $3"
                            " AND l.version = $4::int" +
                            std::string(kReturning))},
        // Expired now, and version + 1 so that a Renew racing it fails.
        release{"amsha_release",
                Notifying("UPDATE " + t +
                          " AS l SET lease_expire_ts = db.now_ms, version = l.version + 1,"
                          " updated_at = db.now_ms FROM " +
                          kDbNow +
                          " AS db"
                          " WHERE l.cluster_name = $1 AND l.service_name = $2 AND l.node_id = $3"
                          " AND l.version = $4::int" +
                          std::string(kReturning))},
        // Both service rows, only while the AMS row is held by $2 at
        // version $3 and unexpired. FOR SHARE: a hand-over that committed
        // after this statement's snapshot is seen (the lock re-checks the
        // row's newest version, which then fails the condition), and one
        // that has not committed yet waits until this statement has.
        publish{"amsha_publish",
                "WITH holder AS (SELECT 1 FROM " + t + " AS h CROSS JOIN " + kDbNow +
                    " AS hdb WHERE h.cluster_name = $1 AND h.service_name = '" +
                    std::string(kAmsServiceName) +
                    "' AND h.node_id = $2 AND h.version = $3::int"
                    " AND h.lease_expire_ts > hdb.now_ms FOR SHARE OF h)"
                    " INSERT INTO " +
                    t +
                    " AS l (cluster_name, service_name, node_id, node_ip,"
                    " server_info_json, version, updated_at)"
                    " SELECT $1, v.service_name, v.node_id, v.node_ip, v.info, 0, db.now_ms"
                    " FROM (VALUES ('" +
                    std::string(kTableServiceName) + "', $4::text, $5::text, $6::text), ('" +
                    std::string(kOptimizingServiceName) +
                    "', $7::text, $8::text, $9::text)) AS v(service_name, node_id, node_ip, info)"
                    " CROSS JOIN " +
                    kDbNow +
                    " AS db WHERE EXISTS (SELECT 1 FROM holder)"
                    " ON CONFLICT (cluster_name, service_name) DO UPDATE SET"
                    " node_id = EXCLUDED.node_id, node_ip = EXCLUDED.node_ip,"
                    " server_info_json = EXCLUDED.server_info_json, version = l.version + 1,"
                    " updated_at = EXCLUDED.updated_at RETURNING l.service_name"} {}

  Statement read, read_clusters, create_row, acquire, renew, renew_info, hand_over, release,
      publish;

  std::array<const Statement*, 9> All() const {
    return {&read,       &read_clusters, &create_row, &acquire, &renew,
            &renew_info, &hand_over,     &release,    &publish};
  }
};

// {"a","b\"c"}: a PostgreSQL array literal of text, every element quoted
// (so NULL, commas, braces and spaces stay data) with " and \ escaped.
std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : values[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

LeaseRecord RecordFromRow(const pqxx::row& r) {
  LeaseRecord rec;
  rec.key.cluster_name = r[0].as<std::string>();
  rec.key.service_name = r[1].as<std::string>();
  if (!r[2].is_null()) rec.node_id = r[2].as<std::string>();
  if (!r[3].is_null()) rec.node_ip = r[3].as<std::string>();
  if (!r[4].is_null()) rec.server_info_json = r[4].as<std::string>();
  if (!r[5].is_null()) rec.lease_expire_ts_ms = r[5].as<int64_t>();
  rec.version = r[6].as<int32_t>();
  rec.updated_at_ms = r[7].as<int64_t>();
  rec.db_now_ms = r[8].as<int64_t>();
  return rec;
}
// libpqxx 6 drops the SQLSTATE for some errors it throws as their own class
// (insufficient_privilege among them); the class still tells which it was.
std::string SqlStateOf(const pqxx::sql_error& e) {
  if (!e.sqlstate().empty()) return e.sqlstate();
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e)) return "42501";
  if (dynamic_cast<const pqxx::undefined_table*>(&e)) return "42P01";
  if (dynamic_cast<const pqxx::undefined_column*>(&e)) return "42703";
  if (dynamic_cast<const pqxx::syntax_error*>(&e)) return "42601";
  if (dynamic_cast<const pqxx::insufficient_resources*>(&e)) return "53000";
  if (dynamic_cast<const pqxx::data_exception*>(&e)) return "22000";
  if (dynamic_cast<const pqxx::integrity_constraint_violation*>(&e)) return "23000";
  return "";
}

// The SqlLeaseEngine of PostgreSQL: one libpqxx connection, the statements
// above prepared on it, and every pqxx exception caught in Guarded().
class PostgresEngine : public SqlLeaseEngine {
 public:
  explicit PostgresEngine(PostgresConnectionOptions options)
      : options_(std::move(options)),
        conninfo_(ComposeConnInfo(options_.url, options_.password, options_.connect_timeout)),
        sql_(QuoteTableName(options_.table)) {}

  using Body = std::function<Status(pqxx::connection&)>;

  // Runs `body` on the connection (opened first if needed) under the mutex
  // and the watchdog; `statements` sizes the watchdog's budget.
  Status Call(PostgresErrorContext::Operation op, int statements, const Body& body) {
    std::lock_guard<std::mutex> lock(mu_);
    operation_ = op;
    Status status = Connect();
    if (!status.ok()) return status;
    auto budget =
        options_.statement_timeout * (statements + (session_ready_ ? 0 : 1)) + kWatchdogGrace;
    watchdog_.Arm(conn_->sock(), std::chrono::steady_clock::now() + budget);
    status = Guarded([&](pqxx::connection& c) {
      if (!session_ready_) {
        SetUpSession(c);
        session_ready_ = true;
      }
      return body(c);
    });
    if (watchdog_.Disarm()) {
      Drop();
      return UnavailableError("no answer from the database within " +
                              std::to_string(budget.count()) +
                              " ms; dropped the connection (a write's outcome is unknown)");
    }
    return status;
  }

  void Drop() {
    conn_.reset();
    session_ready_ = false;
  }

  void Disconnect() override {
    std::lock_guard<std::mutex> lock(mu_);
    Drop();
  }

  StatusOr<std::optional<LeaseRecord>> ReadRow(const LeaseKey& key) override;
  StatusOr<std::vector<LeaseRecord>> ReadClusterRows(
      const std::vector<std::string>& cluster_names) override;
  StatusOr<std::optional<LeaseRecord>> AcquireRow(const LeaseKey& key, const LeaseHolder& holder,
                                                  int64_t ttl_ms) override;
  StatusOr<std::optional<LeaseRecord>> RenewRow(const LeaseKey& key, const std::string& node_id,
                                                int32_t version, int64_t ttl_ms,
                                                const std::string* server_info_json) override;
  StatusOr<std::optional<LeaseRecord>> HandOverRow(const LeaseKey& key,
                                                   const std::string& from_node_id, int32_t version,
                                                   const LeaseHolder& to, int64_t ttl_ms) override;
  StatusOr<bool> ReleaseRow(const LeaseKey& key, const std::string& node_id,
                            int32_t version) override;
  StatusOr<bool> PublishRows(const std::string& cluster_name, const std::string& holder_node_id,
                             int32_t holder_version, const LeaseHolder& table_service,
                             const LeaseHolder& optimizing_service) override;
  Status ApplySchema() override;

 private:
  // libpq's connect_timeout bounds this; the watchdog needs a socket first.
  Status Connect() {
    if (conn_ && conn_->is_open()) return Status::Ok();
    Drop();
    try {
      auto conn = std::make_unique<pqxx::connection>(conninfo_);
      database_ = conn->dbname();
      user_ = conn->username();
      // pqxx prepares lazily, on a statement's first use on this connection.
      for (const Statement* s : sql_.All()) conn->prepare(s->name, s->sql);
      conn_ = std::move(conn);
      return Status::Ok();
    } catch (const pqxx::broken_connection& e) {
      return Redact(StatusFromConnectError(e.what(), Context()));
    } catch (const std::exception& e) {
      return Redact(UnavailableError(std::string("cannot connect to the database: ") + e.what()));
    }
  }

  // A parameter, not SQL text: set_config() takes the value as data.
  void SetUpSession(pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    tx.exec_params(
        "SELECT set_config('statement_timeout', $1, false),"
        " set_config('client_min_messages', 'warning', false)",
        std::to_string(options_.statement_timeout.count()));
  }

  Status Guarded(const Body& body) {
    try {
      return body(*conn_);
    } catch (const pqxx::broken_connection& e) {
      Drop();
      return Redact(
          UnavailableError("lost the database connection (a write's outcome is "
                           "unknown): " +
                           PrimaryErrorLine(e.what())));
    } catch (const pqxx::sql_error& e) {
      const std::string sqlstate = SqlStateOf(e);
      if (!ConnectionSurvives(sqlstate)) Drop();
      return Redact(StatusFromSqlError(sqlstate, e.what(), Context()));
    } catch (const pqxx::statement_completion_unknown& e) {
      Drop();
      return UnavailableError("the statement's outcome is unknown: " + PrimaryErrorLine(e.what()));
    } catch (const pqxx::transaction_rollback& e) {
      // Serialization failure or deadlock (libpqxx 6 throws these outside
      // sql_error): the statement was rolled back, the session is fine.
      return UnavailableError("the database rolled the statement back: " +
                              PrimaryErrorLine(e.what()));
    } catch (const pqxx::in_doubt_error& e) {
      Drop();
      return UnavailableError("the connection broke during COMMIT; the outcome is unknown");
    } catch (const std::exception& e) {
      Drop();
      return Redact(InternalError(std::string("PostgreSQL client: ") + e.what()));
    }
  }

  PostgresErrorContext Context() const {
    PostgresErrorContext c;
    c.operation = operation_;
    c.table = options_.table;
    c.database = database_;
    c.user = user_;
    return c;
  }

  Status Redact(const Status& s) const {
    return Status(s.code(), RedactSecret(s.message(), options_.password));
  }

  const PostgresConnectionOptions options_;
  const std::string conninfo_;  // holds the password: never logged
  const Statements sql_;

  std::mutex mu_;
  std::unique_ptr<pqxx::connection> conn_;
  bool session_ready_ = false;
  std::string database_;
  std::string user_;
  PostgresErrorContext::Operation operation_ = PostgresErrorContext::Operation::kLease;
  CallWatchdog watchdog_;
};

// A single-row result as the row after the statement, or none.
StatusOr<std::optional<LeaseRecord>> RowOrNone(Status status, const pqxx::result& r) {
  if (!status.ok()) return status;
  if (r.empty()) return std::optional<LeaseRecord>();
  return std::optional<LeaseRecord>(RecordFromRow(r[0]));
}

StatusOr<std::optional<LeaseRecord>> PostgresEngine::ReadRow(const LeaseKey& key) {
  pqxx::result r;
  Status s = Call(PostgresErrorContext::Operation::kLease, 1, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    r = tx.exec_prepared(sql_.read.name, key.cluster_name, key.service_name);
    return Status::Ok();
  });
  return RowOrNone(s, r);
}

StatusOr<std::vector<LeaseRecord>> PostgresEngine::ReadClusterRows(
    const std::vector<std::string>& cluster_names) {
  std::vector<LeaseRecord> rows;
  Status s = Call(PostgresErrorContext::Operation::kLease, 1, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(sql_.read_clusters.name, TextArrayLiteral(cluster_names));
    rows.clear();
    rows.reserve(r.size());
    for (const auto& row : r) rows.push_back(RecordFromRow(row));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return rows;
}

StatusOr<std::optional<LeaseRecord>> PostgresEngine::AcquireRow(const LeaseKey& key,
                                                                const LeaseHolder& holder,
                                                                int64_t ttl_ms) {
  pqxx::result r;
  Status s = Call(PostgresErrorContext::Operation::kLease, 2, [&](pqxx::connection& c) {
    // Two autocommitted statements: the row exists afterwards whoever
    // created it, and the conditional UPDATE alone decides who holds it.
    pqxx::nontransaction tx(c);
    tx.exec_prepared(sql_.create_row.name, key.cluster_name, key.service_name);
    r = tx.exec_prepared(sql_.acquire.name, key.cluster_name, key.service_name, holder.node_id,
                         holder.node_ip, holder.server_info_json, ttl_ms);
    return Status::Ok();
  });
  return RowOrNone(s, r);
}

StatusOr<std::optional<LeaseRecord>> PostgresEngine::RenewRow(const LeaseKey& key,
                                                              const std::string& node_id,
                                                              int32_t version, int64_t ttl_ms,
                                                              const std::string* server_info_json) {
  pqxx::result r;
  Status s = Call(PostgresErrorContext::Operation::kLease, 1, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    if (server_info_json == nullptr) {
      r = tx.exec_prepared(sql_.renew.name, key.cluster_name, key.service_name, node_id, version,
                           ttl_ms);
    } else {
      r = tx.exec_prepared(sql_.renew_info.name, key.cluster_name, key.service_name, node_id,
                           version, ttl_ms, *server_info_json);
    }
    return Status::Ok();
  });
  return RowOrNone(s, r);
}

StatusOr<std::optional<LeaseRecord>> PostgresEngine::HandOverRow(const LeaseKey& key,
                                                                 const std::string& from_node_id,
                                                                 int32_t version,
                                                                 const LeaseHolder& to,
                                                                 int64_t ttl_ms) {
  pqxx::result r;
  Status s = Call(PostgresErrorContext::Operation::kLease, 1, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    r = tx.exec_prepared(sql_.hand_over.name, key.cluster_name, key.service_name, from_node_id,
                         version, to.node_id, to.node_ip, to.server_info_json, ttl_ms);
    return Status::Ok();
  });
  return RowOrNone(s, r);
}

StatusOr<bool> PostgresEngine::ReleaseRow(const LeaseKey& key, const std::string& node_id,
                                          int32_t version) {
  bool released = false;
  Status s = Call(PostgresErrorContext::Operation::kLease, 1, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    pqxx::result r =
        tx.exec_prepared(sql_.release.name, key.cluster_name, key.service_name, node_id, version);
    released = !r.empty();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return released;
}

StatusOr<bool> PostgresEngine::PublishRows(const std::string& cluster_name,
                                           const std::string& holder_node_id,
                                           int32_t holder_version, const LeaseHolder& table_service,
                                           const LeaseHolder& optimizing_service) {
  bool published = false;
  Status s = Call(PostgresErrorContext::Operation::kLease, 1, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared(
        sql_.publish.name, cluster_name, holder_node_id, holder_version, table_service.node_id,
        table_service.node_ip, table_service.server_info_json, optimizing_service.node_id,
        optimizing_service.node_ip, optimizing_service.server_info_json);
    published = !r.empty();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return published;
}

Status PostgresEngine::ApplySchema() {
  StatusOr<std::string> ddl = PostgresSchemaDdlFor(options_.table);
  if (!ddl.ok()) return ddl.status();
  return Call(PostgresErrorContext::Operation::kSchema, 3, [&](pqxx::connection& c) {
    // The file's statements in one transaction (simple-query protocol):
    // either the table and both indexes exist afterwards, or nothing changed.
    pqxx::work tx(c);
    tx.exec(*ddl);
    tx.commit();
    return Status::Ok();
  });
}

}  // namespace

StatusOr<std::unique_ptr<PostgresLeaseStore>> PostgresLeaseStore::Create(
    PostgresConnectionOptions options) {
  Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  return std::unique_ptr<PostgresLeaseStore>(
      new PostgresLeaseStore(std::make_unique<PostgresEngine>(std::move(options))));
}

PostgresLeaseStore::PostgresLeaseStore(std::unique_ptr<SqlLeaseEngine> engine)
    : SqlLeaseStore(std::move(engine)) {}

// --- PostgresLeaseNotifier ---

// The gate's notifier: the shared LISTEN connection (postgres_listener.cc),
// filtered to one cluster.
class PostgresLeaseNotifier::Impl {
 public:
  Impl(PostgresConnectionOptions options, std::string cluster) : cluster_(std::move(cluster)) {
    LeaseListener::Callbacks callbacks;
    callbacks.on_listening = [this] {
      Log(LogLevel::kInfo, "listening for lease changes",
          {{"channel", kLeaseChannel}, {"cluster", cluster_}});
      MarkChanged();  // anything sent before LISTEN took effect is lost
    };
    callbacks.on_notification = [this](const std::string& payload) { Notified(payload); };
    callbacks.on_lost = [this](const std::string& why) {
      Log(LogLevel::kWarn, "not listening for lease changes; polling only until reconnected",
          {{"cluster", cluster_}, {"error", why}});
    };
    // Create only fails on options that PostgresLeaseNotifier::Create checked.
    auto listener = StartPostgresListener(std::move(options), std::move(callbacks));
    if (listener.ok()) listener_ = std::move(listener).value();
  }

  ~Impl() { listener_.reset(); }  // joins the listener thread before the fields go

  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return changed_ || interrupted_; });
    bool changed = changed_;
    changed_ = false;
    interrupted_ = false;
    return changed;
  }

  void Interrupt() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      interrupted_ = true;
    }
    cv_.notify_all();
  }

  bool Listening() const { return listener_ && listener_->Listening(); }
  void DropConnection() {
    if (listener_) listener_->DropConnection();
  }

 private:
  // On the listener thread. The row payload and the bare cluster name of
  // older writers both name the cluster (lease/lease_notification.h).
  void Notified(const std::string& payload) {
    std::optional<LeaseNotification> n = ParseLeaseNotification(payload);
    if (n && n->cluster_name == cluster_) MarkChanged();
  }

  void MarkChanged() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      changed_ = true;
    }
    cv_.notify_all();
  }

  const std::string cluster_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool changed_ = false;
  bool interrupted_ = false;
  std::unique_ptr<LeaseListener> listener_;  // last: its thread calls into the fields above
};

StatusOr<std::unique_ptr<PostgresLeaseNotifier>> PostgresLeaseNotifier::Create(
    PostgresConnectionOptions options, std::string cluster_name) {
  if (cluster_name.empty()) return InvalidArgumentError("a lease notifier needs a cluster name");
  if (options.connect_timeout.count() <= 0) {
    return InvalidArgumentError("database connect timeout must be positive");
  }
  return std::unique_ptr<PostgresLeaseNotifier>(new PostgresLeaseNotifier(
      std::make_unique<Impl>(std::move(options), std::move(cluster_name))));
}

PostgresLeaseNotifier::PostgresLeaseNotifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresLeaseNotifier::~PostgresLeaseNotifier() = default;

bool PostgresLeaseNotifier::Wait(std::chrono::milliseconds timeout) { return impl_->Wait(timeout); }
void PostgresLeaseNotifier::Interrupt() { impl_->Interrupt(); }
bool PostgresLeaseNotifier::Listening() const { return impl_->Listening(); }
void PostgresLeaseNotifier::DropConnection() { impl_->DropConnection(); }

}  // namespace amsha
