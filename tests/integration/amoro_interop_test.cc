// Our lease store and Apache Amoro's own AMS on the same ha_lease row, on
// PostgreSQL (PostgresLeaseStore) and on MariaDB (MysqlLeaseStore): each
// test runs on both. AmoroHaWriter issues the statements of Amoro's
// DataBaseHighAvailabilityContainer (client-clock timestamps), the same SQL
// on both engines as in Amoro; neither side may take an unexpired lease from
// the other, and each takes over an expired one.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "support/amoro_ha_writer.h"
#include "support/engine_lease_store.h"
#include "support/mariadb_environment.h"
#include "support/postgres_environment.h"
#include "support/sql_client.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using testing::AmoroHaWriter;
using testing::MariaDbEnvironment;
using testing::PostgresEnvironment;
using testing::SqlClient;

const auto* const kPostgres = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);
const auto* const kMariaDb = ::testing::AddGlobalTestEnvironment(new MariaDbEnvironment);

constexpr milliseconds kLongTtl{60'000};
constexpr milliseconds kShortTtl{50};

LeaseHolder Holder(const std::string& name) {
  return LeaseHolder{name + ":1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1260, 1630)};
}

// The lease store of an engine: "postgres" or "mysql" (MariaDB).
StatusOr<std::unique_ptr<SqlLeaseStore>> OpenStore(const std::string& engine) {
  return testing::OpenEngineLeaseStore(engine, engine == "mysql"
                                                   ? MariaDbEnvironment::server().StoreOptions()
                                                   : PostgresEnvironment::server().StoreOptions());
}

class AmoroInteropTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    for (const char* engine : {"postgres", "mysql"}) {
      auto store = OpenStore(engine);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      Status applied = (*store)->ApplySchema();
      ASSERT_TRUE(applied.ok()) << applied.ToString();
    }
  }

  void SetUp() override {
    // The test's name without the engine: each engine has its own table.
    cluster_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    cluster_ = cluster_.substr(0, cluster_.find('/'));
    key_ = LeaseKey{cluster_, kAmsServiceName};
    auto store = OpenStore(GetParam());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    // AMS connects as the same user, with its own connection.
    const bool mysql = GetParam() == "mysql";
    auto session = mysql
                       ? testing::OpenSqlClient(MariaDbEnvironment::server().url(),
                                                MariaDbEnvironment::server().password(), "amoro")
                       : testing::OpenSqlClient(PostgresEnvironment::server().url(),
                                                PostgresEnvironment::server().password(), "amoro");
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    ams_session_ = std::move(session).value();
  }

  // An empty AMS row (no holder, no expiry), as either side creates it.
  void SeedEmptyRow() {
    auto seeded = ams_session_->Execute(
        "INSERT INTO ha_lease (cluster_name, service_name, version, updated_at) "
        "VALUES (?, ?, 0, 0)",
        {key_.cluster_name, key_.service_name});
    ASSERT_TRUE(seeded.ok()) << seeded.status().ToString();
  }

  std::unique_ptr<AmoroHaWriter> Ams(const std::string& name, milliseconds ttl) {
    return std::make_unique<AmoroHaWriter>(ams_session_.get(), cluster_, name + ":1261:uuid",
                                           "10.0.1.1", ttl);
  }

  std::string cluster_;
  LeaseKey key_;
  std::unique_ptr<SqlLeaseStore> store_;
  std::unique_ptr<SqlClient> ams_session_;
};

TEST_P(AmoroInteropTest, AmsCreatedRowIsNotTakenByTheStoreUntilItExpires) {
  // Amoro's first heartbeat inserts the row already naming itself with an
  // expiry (version 0), and its acquire then finds it unexpired.
  auto ams = Ams("ams", kShortTtl);
  auto first = ams->TryAcquire();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(*first);
  EXPECT_EQ(store_->Acquire(key_, Holder("ctl"), kLongTtl).status().code(), StatusCode::kConflict);
  std::this_thread::sleep_for(kShortTtl * 2);
  auto taken = store_->Acquire(key_, Holder("ctl"), kLongTtl);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(taken->version, 1);
}

TEST_P(AmoroInteropTest, StoreDoesNotTakeALeaseAmsHolds) {
  SeedEmptyRow();
  auto ams = Ams("ams", kLongTtl);
  auto acquired = ams->TryAcquire();
  ASSERT_TRUE(acquired.ok()) << acquired.status().ToString();
  ASSERT_TRUE(*acquired);
  EXPECT_EQ(store_->Acquire(key_, Holder("ctl"), kLongTtl).status().code(), StatusCode::kConflict);
  auto renewed = ams->TryRenew();
  ASSERT_TRUE(renewed.ok());
  EXPECT_TRUE(*renewed);
  EXPECT_EQ(store_->Acquire(key_, Holder("ctl"), kLongTtl).status().code(), StatusCode::kConflict);
  auto read = store_->Read(key_);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->node_id, ams->node_id());
  EXPECT_EQ((*read)->version, *ams->version());
}

TEST_P(AmoroInteropTest, AmsDoesNotTakeALeaseTheStoreHolds) {
  auto acquired = store_->Acquire(key_, Holder("ctl"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  auto ams = Ams("ams", kLongTtl);
  auto taken = ams->TryAcquire();
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_FALSE(*taken);
  auto renewed = store_->Renew(key_, Holder("ctl").node_id, acquired->version, kLongTtl);
  EXPECT_TRUE(renewed.ok()) << renewed.status().ToString();
}

TEST_P(AmoroInteropTest, AmsRenewFailsOnceTheStoreTookTheExpiredLease) {
  SeedEmptyRow();
  auto ams = Ams("ams", kShortTtl);
  auto acquired = ams->TryAcquire();
  ASSERT_TRUE(acquired.ok() && *acquired);
  std::this_thread::sleep_for(kShortTtl * 2);
  ASSERT_TRUE(store_->Acquire(key_, Holder("ctl"), kLongTtl).ok());
  auto renewed = ams->TryRenew();
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(*renewed);
}

TEST_P(AmoroInteropTest, StoreRenewFailsOnceAmsTookTheExpiredLease) {
  auto acquired = store_->Acquire(key_, Holder("ctl"), kShortTtl);
  ASSERT_TRUE(acquired.ok());
  std::this_thread::sleep_for(kShortTtl * 2);
  auto ams = Ams("ams", kLongTtl);
  auto taken = ams->TryAcquire();
  ASSERT_TRUE(taken.ok() && *taken);
  EXPECT_EQ(store_->Renew(key_, Holder("ctl").node_id, acquired->version, kLongTtl).status().code(),
            StatusCode::kConflict);
}

TEST_P(AmoroInteropTest, StoreAndAmsRacingForAnExpiredLeaseHaveExactlyOneWinner) {
  constexpr int kRounds = 100;
  SeedEmptyRow();
  int store_wins = 0;
  int ams_wins = 0;
  for (int r = 0; r < kRounds; ++r) {
    auto ams = Ams("ams" + std::to_string(r), kLongTtl);
    std::promise<void> start;
    std::shared_future<void> go = start.get_future().share();
    auto ours = std::async(std::launch::async, [&] {
      go.wait();
      return store_->Acquire(key_, Holder("ctl"), kLongTtl);
    });
    auto theirs = std::async(std::launch::async, [&] {
      go.wait();
      return ams->TryAcquire();
    });
    start.set_value();
    StatusOr<LeaseRecord> ours_result = ours.get();
    StatusOr<bool> theirs_result = theirs.get();
    ASSERT_TRUE(theirs_result.ok()) << theirs_result.status().ToString();
    if (!ours_result.ok()) {
      EXPECT_EQ(ours_result.status().code(), StatusCode::kConflict)
          << ours_result.status().ToString();
    }
    ASSERT_NE(ours_result.ok(), *theirs_result) << "round " << r;
    auto read = store_->Read(key_);
    ASSERT_TRUE(read.ok() && read->has_value());
    LeaseRecord row = **read;
    if (ours_result.ok()) {
      ++store_wins;
      EXPECT_EQ(row.node_id, Holder("ctl").node_id);
    } else {
      ++ams_wins;
      EXPECT_EQ(row.node_id, ams->node_id());
    }
    // Expire it for the next round as its holder would on shutdown.
    ASSERT_TRUE(ams_session_
                    ->Execute("UPDATE ha_lease SET lease_expire_ts = 0 WHERE cluster_name = ? AND "
                              "service_name = ?",
                              {key_.cluster_name, key_.service_name})
                    .ok());
  }
  std::printf("store won %d rounds, Amoro's AMS won %d\n", store_wins, ams_wins);
}

INSTANTIATE_TEST_SUITE_P(Engines, AmoroInteropTest, ::testing::Values("postgres", "mysql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "mysql" ? "OnMariaDb" : "OnPostgres";
                         });

}  // namespace
}  // namespace amsha
