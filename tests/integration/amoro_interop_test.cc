// PostgresLeaseStore and Apache Amoro's own AMS on the same ha_lease row.
// AmoroHaWriter issues the statements of Amoro's
// DataBaseHighAvailabilityContainer (client-clock timestamps); neither side
// may take an unexpired lease from the other, and each takes over an
// expired one.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "lease/postgres_conninfo.h"
#include "lease/postgres_lease_store.h"
#include "support/amoro_ha_writer.h"
#include "support/postgres_environment.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using testing::AmoroHaWriter;
using testing::PostgresEnvironment;
using testing::SqlSession;

const auto* const kPostgres = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

constexpr milliseconds kLongTtl{60'000};
constexpr milliseconds kShortTtl{50};

LeaseHolder Holder(const std::string& name) {
  return LeaseHolder{name + ":1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1260, 1630)};
}

class AmoroInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto store = PostgresLeaseStore::Create(PostgresEnvironment::server().StoreOptions());
    ASSERT_TRUE(store.ok());
    Status applied = (*store)->ApplySchema();
    ASSERT_TRUE(applied.ok()) << applied.ToString();
  }

  void SetUp() override {
    cluster_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    key_ = LeaseKey{cluster_, kAmsServiceName};
    auto store = PostgresLeaseStore::Create(PostgresEnvironment::server().StoreOptions());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    // AMS connects as the same role, with its own connection.
    const testing::PostgresServer& server = PostgresEnvironment::server();
    auto session = SqlSession::Open(
        ComposeConnInfo(server.url(), server.password(), std::chrono::milliseconds(2000)));
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    ams_session_ = std::move(session).value();
  }

  // An empty AMS row (no holder, no expiry), as either side creates it.
  void SeedEmptyRow() {
    auto seeded = ams_session_->Exec(
        "INSERT INTO ha_lease (cluster_name, service_name, version, updated_at) "
        "VALUES ($1, $2, 0, 0)",
        {key_.cluster_name, key_.service_name});
    ASSERT_TRUE(seeded.ok()) << seeded.status().ToString();
  }

  std::unique_ptr<AmoroHaWriter> Ams(const std::string& name, milliseconds ttl) {
    return std::make_unique<AmoroHaWriter>(ams_session_.get(), cluster_, name + ":1261:uuid",
                                           "10.0.1.1", ttl);
  }

  std::string cluster_;
  LeaseKey key_;
  std::unique_ptr<PostgresLeaseStore> store_;
  std::unique_ptr<SqlSession> ams_session_;
};

TEST_F(AmoroInteropTest, AmsCreatedRowIsNotTakenByTheStoreUntilItExpires) {
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

TEST_F(AmoroInteropTest, StoreDoesNotTakeALeaseAmsHolds) {
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

TEST_F(AmoroInteropTest, AmsDoesNotTakeALeaseTheStoreHolds) {
  auto acquired = store_->Acquire(key_, Holder("ctl"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  auto ams = Ams("ams", kLongTtl);
  auto taken = ams->TryAcquire();
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_FALSE(*taken);
  auto renewed = store_->Renew(key_, Holder("ctl").node_id, acquired->version, kLongTtl);
  EXPECT_TRUE(renewed.ok()) << renewed.status().ToString();
}

TEST_F(AmoroInteropTest, AmsRenewFailsOnceTheStoreTookTheExpiredLease) {
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

TEST_F(AmoroInteropTest, StoreRenewFailsOnceAmsTookTheExpiredLease) {
  auto acquired = store_->Acquire(key_, Holder("ctl"), kShortTtl);
  ASSERT_TRUE(acquired.ok());
  std::this_thread::sleep_for(kShortTtl * 2);
  auto ams = Ams("ams", kLongTtl);
  auto taken = ams->TryAcquire();
  ASSERT_TRUE(taken.ok() && *taken);
  EXPECT_EQ(store_->Renew(key_, Holder("ctl").node_id, acquired->version, kLongTtl).status().code(),
            StatusCode::kConflict);
}

TEST_F(AmoroInteropTest, StoreAndAmsRacingForAnExpiredLeaseHaveExactlyOneWinner) {
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
                    ->Exec("UPDATE ha_lease SET lease_expire_ts = 0 WHERE cluster_name = $1 AND "
                           "service_name = $2",
                           {key_.cluster_name, key_.service_name})
                    .ok());
  }
  std::printf("store won %d rounds, Amoro's AMS won %d\n", store_wins, ams_wins);
}

}  // namespace
}  // namespace amsha
