// MysqlLeaseStore when MariaDB misbehaves: a killed connection (KILL), a
// restarted, stopped or frozen server, lock waits, a server that never
// answers, and a wrong environment (missing table, wrong password, missing
// privileges). The twin of postgres_lease_store_failure_test.cc; every case
// ends with the same store object working again once the cause is gone.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "lease/mysql_lease_store.h"
#include "support/mariadb_environment.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::MariaDbEnvironment;
using testing::MysqlSession;

const auto* const kMaria = ::testing::AddGlobalTestEnvironment(new MariaDbEnvironment);

constexpr milliseconds kTtl{60'000};

LeaseHolder Holder(const std::string& name) {
  return LeaseHolder{name + ":1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1260, 1630)};
}

std::unique_ptr<MysqlLeaseStore> NewStore(LeaseDatabaseOptions options) {
  auto store = MysqlLeaseStore::Create(std::move(options));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

class MysqlLeaseStoreFailureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto store = NewStore(MariaDbEnvironment::server().StoreOptions());
    ASSERT_NE(store, nullptr);
    Status applied = store->ApplySchema();
    ASSERT_TRUE(applied.ok()) << applied.ToString();
  }

  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    key_ = LeaseKey{name_, kAmsServiceName};
    admin_ = MariaDbEnvironment::Admin();
    ASSERT_NE(admin_, nullptr);
  }

  std::unique_ptr<MysqlLeaseStore> StoreWith(milliseconds statement_timeout) {
    LeaseDatabaseOptions options = MariaDbEnvironment::server().StoreOptions();
    options.statement_timeout = statement_timeout;
    return NewStore(options);
  }

  std::string name_;
  LeaseKey key_;
  std::unique_ptr<MysqlSession> admin_;
};

TEST_F(MysqlLeaseStoreFailureTest, KilledConnectionIsUnavailableOnceThenReconnects) {
  auto store = StoreWith(milliseconds(2000));
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  ASSERT_TRUE(acquired.ok()) << acquired.status().ToString();
  const unsigned long id = store->ConnectionId();
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(admin_->Exec("KILL " + std::to_string(id)).ok());

  auto broken = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  EXPECT_EQ(broken.status().code(), StatusCode::kUnavailable) << broken.status().ToString();
  // The same object reconnects; the renew never reached the server.
  auto renewed = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->version, acquired->version + 1);
  EXPECT_NE(store->ConnectionId(), id);
}

TEST_F(MysqlLeaseStoreFailureTest, RestartedServerIsUnavailableOnceThenReconnects) {
  auto store = StoreWith(milliseconds(2000));
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  ASSERT_TRUE(acquired.ok()) << acquired.status().ToString();
  admin_.reset();
  testing::MariaDbServer& server = MariaDbEnvironment::server();
  ASSERT_TRUE(server.Stop().ok());
  ASSERT_TRUE(server.Start().ok());

  auto stale = store->Read(key_);
  EXPECT_EQ(stale.status().code(), StatusCode::kUnavailable) << stale.status().ToString();
  auto renewed = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
}

TEST_F(MysqlLeaseStoreFailureTest, StoppedServerIsUnavailableUntilItIsBack) {
  auto store = StoreWith(milliseconds(2000));
  ASSERT_TRUE(store->Acquire(key_, Holder("a"), kTtl).ok());
  admin_.reset();
  testing::MariaDbServer& server = MariaDbEnvironment::server();
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

TEST_F(MysqlLeaseStoreFailureTest, FrozenServerIsCutWithinTheCallBound) {
  constexpr milliseconds kStatementTimeout{1000};
  auto store = StoreWith(kStatementTimeout);
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  ASSERT_TRUE(acquired.ok());
  admin_.reset();
  testing::MariaDbServer& server = MariaDbEnvironment::server();
  // A stopped server cannot enforce its own max_statement_time.
  ASSERT_TRUE(server.Freeze().ok());
  auto start = steady_clock::now();
  auto frozen = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  auto waited = steady_clock::now() - start;
  ASSERT_TRUE(server.Thaw().ok());
  EXPECT_EQ(frozen.status().code(), StatusCode::kUnavailable) << frozen.status().ToString();
  // Cut by the driver's read timeout (statement timeout + 1 s) or, as a
  // backstop, the watchdog: never before the server had its chance.
  EXPECT_GE(waited, kStatementTimeout);
  EXPECT_LT(waited, kStatementTimeout * 4 + milliseconds(2500));
  std::printf("a frozen server was cut after %lld ms: %s\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(waited).count()),
              frozen.status().message().c_str());
  // The renew never ran: the lease is still at the version it had.
  auto renewed = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
}

TEST_F(MysqlLeaseStoreFailureTest, LockWaitPastStatementTimeoutIsUnavailableOnTheSameSession) {
  auto store = StoreWith(milliseconds(800));
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  ASSERT_TRUE(acquired.ok());
  const unsigned long id = store->ConnectionId();
  ASSERT_TRUE(admin_->Exec("START TRANSACTION").ok());
  ASSERT_TRUE(admin_
                  ->Exec("SELECT 1 FROM ha_lease WHERE cluster_name = " +
                         admin_->Literal(key_.cluster_name) +
                         " AND service_name = 'AMS' FOR UPDATE")
                  .ok());
  auto start = steady_clock::now();
  auto blocked = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  auto waited = steady_clock::now() - start;
  EXPECT_EQ(blocked.status().code(), StatusCode::kUnavailable) << blocked.status().ToString();
  EXPECT_NE(blocked.status().message().find("statement timeout"), std::string::npos)
      << blocked.status().message();
  EXPECT_LT(waited, milliseconds(2500));
  ASSERT_TRUE(admin_->Exec("ROLLBACK").ok());
  auto renewed = store->Renew(key_, Holder("a").node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  // A timed-out statement leaves the session usable: no reconnect happened.
  EXPECT_EQ(store->ConnectionId(), id);
}

TEST_F(MysqlLeaseStoreFailureTest, ServerThatNeverAnswersIsBoundedByTheTimeouts) {
  // Accepts TCP connections and then sends no greeting, like a wedged server.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);

  LeaseDatabaseOptions options = MariaDbEnvironment::server().StoreOptions();
  options.url = "mysql://ams@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/amsha";
  options.connect_timeout = milliseconds(1000);
  options.statement_timeout = milliseconds(1000);
  auto store = NewStore(options);
  auto start = steady_clock::now();
  auto read = store->Read(key_);
  auto waited = steady_clock::now() - start;
  close(listener);
  EXPECT_EQ(read.status().code(), StatusCode::kUnavailable) << read.status().ToString();
  EXPECT_LT(waited, milliseconds(4000));
}

TEST_F(MysqlLeaseStoreFailureTest, MissingTableNamesInitSchemaAndRecoversAfterIt) {
  LeaseDatabaseOptions options = MariaDbEnvironment::server().StoreOptions();
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
  ASSERT_TRUE(store->ApplySchema().ok());
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  EXPECT_TRUE(acquired.ok()) << acquired.status().ToString();
  auto indexes = admin_->Scalar(
      "SELECT GROUP_CONCAT(DISTINCT INDEX_NAME ORDER BY INDEX_NAME) FROM "
      "information_schema.STATISTICS WHERE TABLE_SCHEMA = 'amsha' AND "
      "TABLE_NAME = 'missing_lease'");
  ASSERT_TRUE(indexes.ok());
  EXPECT_EQ(*indexes, "idx_ha_lease_expire,idx_ha_lease_node,PRIMARY");
  ASSERT_TRUE(admin_->Exec("DROP TABLE missing_lease").ok());
}

TEST_F(MysqlLeaseStoreFailureTest, WrongPasswordIsUnauthenticatedAndNeverQuoted) {
  LeaseDatabaseOptions options = MariaDbEnvironment::server().StoreOptions();
  options.password = "wrong-Pa55word!";
  auto store = NewStore(options);
  auto read = store->Read(key_);
  EXPECT_EQ(read.status().code(), StatusCode::kUnauthenticated) << read.status().ToString();
  EXPECT_NE(read.status().message().find("Access denied for user 'ams'"), std::string::npos);
  EXPECT_NE(read.status().message().find("check database.passwordFile or AMS_HA_DB_PASSWORD"),
            std::string::npos);
  EXPECT_EQ(read.status().message().find(options.password), std::string::npos);
}

TEST_F(MysqlLeaseStoreFailureTest, UserWithoutPrivilegesIsToldWhichGrantItNeeds) {
  const std::string password = "no-perm-p'ss\\word";
  ASSERT_TRUE(admin_->Exec("DROP USER IF EXISTS 'ams_noperm'@'%'").ok());
  ASSERT_TRUE(
      admin_->Exec("CREATE USER 'ams_noperm'@'%' IDENTIFIED BY " + admin_->Literal(password)).ok());
  LeaseDatabaseOptions options = MariaDbEnvironment::server().StoreOptions();
  options.url =
      "mysql://ams_noperm@127.0.0.1:" + std::to_string(MariaDbEnvironment::server().port()) +
      "/amsha";
  options.password = password;
  auto store = NewStore(options);

  auto read = store->Read(key_);
  EXPECT_EQ(read.status().code(), StatusCode::kPermissionDenied) << read.status().ToString();
  EXPECT_NE(read.status().message().find("GRANT SELECT, INSERT, UPDATE ON `amsha`.* TO "
                                         "'ams_noperm'@'%'"),
            std::string::npos)
      << read.status().message();

  // Allowed into the database but not to the table.
  ASSERT_TRUE(admin_->Exec("GRANT SELECT ON amsha.ha_lease TO 'ams_noperm'@'%'").ok());
  auto acquire = store->Acquire(key_, Holder("a"), kTtl);
  EXPECT_EQ(acquire.status().code(), StatusCode::kPermissionDenied) << acquire.status().ToString();
  EXPECT_NE(acquire.status().message().find("GRANT SELECT, INSERT, UPDATE ON `amsha`.`ha_lease`"),
            std::string::npos)
      << acquire.status().message();
  options.table = "noperm_lease";
  Status applied = NewStore(options)->ApplySchema();
  EXPECT_EQ(applied.code(), StatusCode::kPermissionDenied) << applied.ToString();
  EXPECT_NE(applied.message().find("GRANT CREATE ON `amsha`.*"), std::string::npos)
      << applied.message();

  // Granted while the store runs: the next call works.
  ASSERT_TRUE(admin_->Exec("GRANT INSERT, UPDATE ON amsha.ha_lease TO 'ams_noperm'@'%'").ok());
  auto acquired = store->Acquire(key_, Holder("a"), kTtl);
  EXPECT_TRUE(acquired.ok()) << acquired.status().ToString();
  ASSERT_TRUE(admin_->Exec("DROP USER 'ams_noperm'@'%'").ok());
}

TEST_F(MysqlLeaseStoreFailureTest, MalformedUrlsAreRejectedBeforeConnecting) {
  for (const std::string url :
       {"mysql://127.0.0.1:3306/amsha", "mysql://ams@127.0.0.1:3306/", "mysql://ams@h:99999/db",
        "mysql://ams@h/db?ssl-mode=sometimes", "mysql://ams@h/db?sslmode=REQUIRED"}) {
    LeaseDatabaseOptions options = MariaDbEnvironment::server().StoreOptions();
    options.url = url;
    EXPECT_EQ(MysqlLeaseStore::Create(options).status().code(), StatusCode::kInvalidArgument)
        << url;
  }
}

}  // namespace
}  // namespace amsha
