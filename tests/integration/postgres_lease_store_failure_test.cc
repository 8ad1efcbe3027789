// PostgresLeaseStore when the database misbehaves: killed backends, a
// restarted or frozen server, lock waits, and a wrong environment (missing
// table, wrong password, missing privileges). Every case ends with the same
// store object working again once the cause is gone.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "lease/postgres_conninfo.h"
#include "lease/postgres_lease_store.h"
#include "support/postgres_environment.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::PostgresEnvironment;
using testing::SqlSession;

const auto* const kPostgres = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

constexpr milliseconds kTtl{60'000};

LeaseHolder Holder(const std::string& name) {
  return LeaseHolder{name + ":1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1260, 1630)};
}

// The URL with application_name set, so the admin can find the backend.
std::string UrlNamed(const std::string& url, const std::string& application) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + application;
}

std::unique_ptr<PostgresLeaseStore> NewStore(PostgresConnectionOptions options) {
  auto store = PostgresLeaseStore::Create(std::move(options));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// The backend pid of the session named `application`, or "" if none.
std::string BackendPid(SqlSession& admin, const std::string& application) {
  auto pid =
      admin.Scalar("SELECT pid FROM pg_stat_activity WHERE application_name = $1", {application});
  return pid.ok() ? *pid : "";
}

class PostgresLeaseStoreFailureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto store = NewStore(PostgresEnvironment::server().StoreOptions());
    ASSERT_NE(store, nullptr);
    Status applied = store->ApplySchema();
    ASSERT_TRUE(applied.ok()) << applied.ToString();
  }

  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    key_ = LeaseKey{name_, kAmsServiceName};
    admin_ = PostgresEnvironment::Admin();
    ASSERT_NE(admin_, nullptr);
  }

  // A store whose backend is findable by this test's name.
  std::unique_ptr<PostgresLeaseStore> NamedStore(
      milliseconds statement_timeout = milliseconds(2000)) {
    PostgresConnectionOptions options = PostgresEnvironment::server().StoreOptions();
    options.url = UrlNamed(options.url, name_.substr(0, 60));
    options.statement_timeout = statement_timeout;
    return NewStore(options);
  }

  std::string name_;
  LeaseKey key_;
  std::unique_ptr<SqlSession> admin_;
};

TEST_F(PostgresLeaseStoreFailureTest, TerminatedBackendIsUnavailableOnceThenReconnects) {
  auto store = NamedStore();
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  ASSERT_TRUE(acquired.ok()) << acquired.status().ToString();
  // The 5 s argument makes pg_terminate_backend wait until the backend is gone.
  auto killed = admin_->Scalar(
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1",
      {name_.substr(0, 60)});
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  ASSERT_EQ(*killed, "t");

  auto broken = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  EXPECT_EQ(broken.status().code(), StatusCode::kUnavailable) << broken.status().ToString();
  // The same object reconnects; the renew never reached the server.
  auto renewed = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->version, acquired->version + 1);
}

TEST_F(PostgresLeaseStoreFailureTest, RestartedServerIsUnavailableOnceThenReconnects) {
  auto store = NamedStore();
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  ASSERT_TRUE(acquired.ok()) << acquired.status().ToString();
  admin_.reset();
  testing::PostgresServer& server = PostgresEnvironment::server();
  ASSERT_TRUE(server.Stop().ok());
  ASSERT_TRUE(server.Start().ok());

  auto stale = store->Read(key_);
  EXPECT_EQ(stale.status().code(), StatusCode::kUnavailable) << stale.status().ToString();
  auto renewed = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
}

TEST_F(PostgresLeaseStoreFailureTest, StoppedServerIsUnavailableUntilItIsBack) {
  auto store = NamedStore();
  ASSERT_TRUE(store->Acquire(key_, Holder("a"), kTtl).ok());
  admin_.reset();
  testing::PostgresServer& server = PostgresEnvironment::server();
  ASSERT_TRUE(server.Stop().ok());
  for (int i = 0; i < 3; ++i) {
    auto down = store->Read(key_);
    EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status().ToString();
  }
  ASSERT_TRUE(server.Start().ok());
  auto read = store->Read(key_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->has_value());
}

TEST_F(PostgresLeaseStoreFailureTest, FrozenBackendIsCutByTheWatchdog) {
  // Generous enough that a loaded CI machine does not time out the set-up.
  constexpr milliseconds kStatementTimeout{1000};
  auto store = NamedStore(kStatementTimeout);
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  ASSERT_TRUE(acquired.ok());
  std::string pid = BackendPid(*admin_, name_.substr(0, 60));
  ASSERT_FALSE(pid.empty());
  // A stopped backend cannot enforce its own statement_timeout.
  ASSERT_EQ(kill(std::stoi(pid), SIGSTOP), 0);
  auto start = steady_clock::now();
  auto frozen = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  auto waited = steady_clock::now() - start;
  kill(std::stoi(pid), SIGCONT);
  EXPECT_EQ(frozen.status().code(), StatusCode::kUnavailable) << frozen.status().ToString();
  EXPECT_NE(frozen.status().message().find("no answer from the database"), std::string::npos);
  // Cut at statement_timeout + 1 s: not before the server had its chance.
  EXPECT_GE(waited, kStatementTimeout);
  EXPECT_LT(waited, kStatementTimeout + milliseconds(2500));
  // The renew never ran: the lease is still at the version it had.
  auto renewed = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
}

TEST_F(PostgresLeaseStoreFailureTest, LockWaitPastStatementTimeoutIsUnavailableOnTheSameSession) {
  auto store = NamedStore(milliseconds(800));
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  ASSERT_TRUE(acquired.ok());
  std::string pid = BackendPid(*admin_, name_.substr(0, 60));
  ASSERT_TRUE(admin_->Exec("BEGIN").ok());
  ASSERT_TRUE(admin_
                  ->Exec("SELECT 1 FROM ha_lease WHERE cluster_name = $1 AND service_name = $2 "
                         "FOR UPDATE",
                         {key_.cluster_name, key_.service_name})
                  .ok());
  auto blocked = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  EXPECT_EQ(blocked.status().code(), StatusCode::kUnavailable) << blocked.status().ToString();
  EXPECT_NE(blocked.status().message().find("statement timeout"), std::string::npos);
  ASSERT_TRUE(admin_->Exec("ROLLBACK").ok());
  auto renewed = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  // A cancelled statement leaves the session usable: no reconnect happened.
  EXPECT_EQ(BackendPid(*admin_, name_.substr(0, 60)), pid);
}

TEST_F(PostgresLeaseStoreFailureTest, ServerThatNeverAnswersIsBoundedByTheConnectTimeout) {
  // Accepts TCP connections (the kernel completes the handshake) and then
  // says nothing, like a server wedged before authentication.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);

  PostgresConnectionOptions options;
  options.url = "host=127.0.0.1 port=" + std::to_string(ntohs(addr.sin_port)) +
                " dbname=amsha user=ams sslmode=disable";
  options.password = "unused";
  options.connect_timeout = milliseconds(2000);  // libpq's minimum
  auto store = NewStore(options);
  auto start = steady_clock::now();
  auto read = store->Read(key_);
  auto waited = steady_clock::now() - start;
  close(listener);
  EXPECT_EQ(read.status().code(), StatusCode::kUnavailable) << read.status().ToString();
  EXPECT_LT(waited, milliseconds(4000));
}

TEST_F(PostgresLeaseStoreFailureTest, MissingTableNamesInitSchemaAndRecoversAfterIt) {
  PostgresConnectionOptions options = PostgresEnvironment::server().StoreOptions();
  options.table = "missing_lease";
  auto store = NewStore(options);
  auto read = store->Read(key_);
  EXPECT_EQ(read.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(read.status().message(),
            "table \"missing_lease\" does not exist in database \"amsha\": run "
            "'ams-ha-controller init-schema --config FILE'");
  EXPECT_EQ(store->Acquire(key_, Holder("a"), kTtl).status().code(),
            StatusCode::kFailedPrecondition);

  ASSERT_TRUE(store->ApplySchema().ok());
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  EXPECT_TRUE(acquired.ok()) << acquired.status().ToString();
  auto indexes = admin_->Scalar(
      "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
      "WHERE tablename = 'missing_lease'");
  ASSERT_TRUE(indexes.ok());
  EXPECT_EQ(*indexes, "idx_missing_lease_expire,idx_missing_lease_node,missing_lease_pkey");
  ASSERT_TRUE(admin_->Exec("DROP TABLE missing_lease").ok());
}

TEST_F(PostgresLeaseStoreFailureTest, WrongPasswordIsUnauthenticatedAndNeverQuoted) {
  PostgresConnectionOptions options = PostgresEnvironment::server().StoreOptions();
  options.password = "wrong-Pa55word!";
  auto store = NewStore(options);
  auto read = store->Read(key_);
  EXPECT_EQ(read.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(read.status().message(),
            "password authentication failed for user \"ams\": check database.passwordFile or "
            "AMS_HA_DB_PASSWORD");
  EXPECT_EQ(read.status().message().find(options.password), std::string::npos);
}

TEST_F(PostgresLeaseStoreFailureTest, RoleWithoutPrivilegesIsToldWhichGrantItNeeds) {
  const std::string password = "no-perm-password";
  ASSERT_TRUE(admin_->Exec("DROP ROLE IF EXISTS ams_noperm").ok());
  ASSERT_TRUE(
      admin_->Exec("CREATE ROLE ams_noperm LOGIN PASSWORD " + admin_->Literal(password)).ok());
  PostgresConnectionOptions options = PostgresEnvironment::server().StoreOptions();
  options.url =
      "postgresql://ams_noperm@127.0.0.1:" + std::to_string(PostgresEnvironment::server().port()) +
      "/amsha";
  options.password = password;
  auto store = NewStore(options);

  auto read = store->Read(key_);
  EXPECT_EQ(read.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(read.status().message().find("GRANT SELECT, INSERT, UPDATE ON ha_lease TO ams_noperm"),
            std::string::npos)
      << read.status().message();

  options.table = "noperm_lease";
  auto schema_store = NewStore(options);
  Status applied = schema_store->ApplySchema();
  EXPECT_EQ(applied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(applied.message().find("GRANT CREATE ON SCHEMA public TO ams_noperm"),
            std::string::npos)
      << applied.message();

  // Granted while the store runs: the next call works.
  ASSERT_TRUE(admin_->Exec("GRANT SELECT, INSERT, UPDATE ON ha_lease TO ams_noperm").ok());
  EXPECT_TRUE(store->Acquire(key_, Holder("a"), kTtl).ok());
  ASSERT_TRUE(admin_->Exec("REVOKE ALL ON ha_lease FROM ams_noperm").ok());
}

TEST_F(PostgresLeaseStoreFailureTest, PasswordWithSpecialCharactersWorksInEveryUrlForm) {
  const std::string password = "p@ss w'rd\\&?=%/#:\"x\"";
  ASSERT_TRUE(admin_->Exec("DROP ROLE IF EXISTS ams_quoted").ok());
  ASSERT_TRUE(
      admin_->Exec("CREATE ROLE ams_quoted LOGIN PASSWORD " + admin_->Literal(password)).ok());
  ASSERT_TRUE(admin_->Exec("GRANT SELECT, INSERT, UPDATE ON ha_lease TO ams_quoted").ok());
  const std::string port = std::to_string(PostgresEnvironment::server().port());
  for (const std::string& url :
       {"postgresql://ams_quoted@127.0.0.1:" + port + "/amsha",
        "postgresql://ams_quoted@127.0.0.1:" + port + "/amsha?sslmode=disable",
        "host=127.0.0.1 port=" + port + " dbname=amsha user=ams_quoted"}) {
    PostgresConnectionOptions options = PostgresEnvironment::server().StoreOptions();
    options.url = url;
    options.password = password;
    auto read = NewStore(options)->Read(key_);
    EXPECT_TRUE(read.ok()) << url << ": " << read.status().ToString();
  }
  ASSERT_TRUE(admin_->Exec("REVOKE ALL ON ha_lease FROM ams_quoted").ok());
}

}  // namespace
}  // namespace amsha
