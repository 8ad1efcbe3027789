// SqlLeaseStore against real databases: every test runs on PostgreSQL
// (PostgresLeaseStore) and on MariaDB (MysqlLeaseStore): every outcome of the
// lease protocol, races between many connections, and the database clock as
// the only clock. lease_store_clock_skew_test.sh runs this same binary under
// libfaketime at +1h and -1h (AMS_HA_EXPECTED_CLOCK_SKEW_MS says which), and
// every test here must pass unchanged. Amoro's own statements interleaved
// with the store run in amoro_interop_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "lease/lease_record.h"
#include "support/engine_lease_store.h"
#include "support/mariadb_environment.h"
#include "support/postgres_environment.h"
#include "support/sql_client.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using testing::MariaDbEnvironment;
using testing::PostgresEnvironment;
using testing::SqlClient;

const auto* const kPostgres = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);
const auto* const kMariaDb = ::testing::AddGlobalTestEnvironment(new MariaDbEnvironment);

constexpr milliseconds kLongTtl{60'000};
constexpr milliseconds kShortTtl{50};

// What differs between the engines; the parameter of the suite.
struct Engine {
  std::string name;  // "postgres" or "mysql" (MariaDB)
  LeaseDatabaseOptions (*options)();
  // A superuser session, for set-up and checks.
  std::unique_ptr<SqlClient> (*admin)();
  // ha_lease's columns ("name type nullable, ...") and index names, and
  // what init-schema must have made of them.
  const char* columns_sql;
  const char* columns;
  const char* indexes_sql;
  const char* indexes;
};

void PrintTo(const Engine& engine, std::ostream* os) { *os << engine.name; }

const Engine kEngines[] = {
    {"postgres", [] { return PostgresEnvironment::server().StoreOptions(); },
     []() -> std::unique_ptr<SqlClient> { return PostgresEnvironment::Admin(); },
     "SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', ' "
     "ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'ha_lease'",
     "cluster_name character varying NO, service_name character varying NO, node_id "
     "character varying YES, node_ip character varying YES, server_info_json text YES, "
     "lease_expire_ts bigint YES, version integer NO, updated_at bigint NO",
     "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
     "WHERE tablename = 'ha_lease'",
     "ha_lease_pkey,idx_ha_lease_expire,idx_ha_lease_node"},
    {"mysql", [] { return MariaDbEnvironment::server().StoreOptions(); },
     []() -> std::unique_ptr<SqlClient> { return MariaDbEnvironment::Admin(); },
     "SELECT GROUP_CONCAT(CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE, ' ', IS_NULLABLE) "
     "ORDER BY ORDINAL_POSITION SEPARATOR ', ') FROM information_schema.COLUMNS "
     "WHERE TABLE_SCHEMA = 'amsha' AND TABLE_NAME = 'ha_lease'",
     "cluster_name varchar(64) NO, service_name varchar(64) NO, node_id varchar(256) YES, "
     "node_ip varchar(64) YES, server_info_json text YES, lease_expire_ts bigint(20) YES, "
     "version int(11) NO, updated_at bigint(20) NO",
     "SELECT GROUP_CONCAT(DISTINCT INDEX_NAME ORDER BY INDEX_NAME) FROM "
     "information_schema.STATISTICS WHERE TABLE_SCHEMA = 'amsha' AND TABLE_NAME = 'ha_lease'",
     "idx_ha_lease_expire,idx_ha_lease_node,PRIMARY"},
};

LeaseHolder Holder(const std::string& name) {
  return LeaseHolder{name + ":1261:uuid", "10.0.0." + std::to_string(name.size()),
                     ServerInfoJson("10.0.0.1", 1260, 1630)};
}

// Two reads of one row agree on everything the row stores.
void ExpectSameRow(const LeaseRecord& a, const LeaseRecord& b) {
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.node_id, b.node_id);
  EXPECT_EQ(a.node_ip, b.node_ip);
  EXPECT_EQ(a.server_info_json, b.server_info_json);
  EXPECT_EQ(a.lease_expire_ts_ms, b.lease_expire_ts_ms);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.updated_at_ms, b.updated_at_ms);
}

class SqlLeaseStoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  static void SetUpTestSuite() {
    for (const Engine& engine : kEngines) {
      auto store = testing::OpenEngineLeaseStore(engine.name, engine.options());
      ASSERT_TRUE(store.ok()) << engine.name << ": " << store.status().ToString();
      Status applied = (*store)->ApplySchema();
      ASSERT_TRUE(applied.ok()) << engine.name << ": " << applied.ToString();
    }
  }

  void SetUp() override {
    store_ = NewStore();
    ASSERT_NE(store_, nullptr);
    // One cluster per test: tests share the table, never a row. The name
    // without "/OnPostgres": each engine has its own table.
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    key_ = LeaseKey{name.substr(0, name.find('/')), kAmsServiceName};
  }

  std::unique_ptr<SqlLeaseStore> NewStore() {
    auto store = testing::OpenEngineLeaseStore(GetParam().name, GetParam().options());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  LeaseRecord MustRead() {
    auto read = store_->Read(key_);
    EXPECT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_TRUE(read.ok() && read->has_value());
    return read.ok() && read->has_value() ? **read : LeaseRecord{};
  }

  std::unique_ptr<SqlLeaseStore> store_;
  LeaseKey key_;
};

TEST_P(SqlLeaseStoreTest, ProcessClockIsSkewedExactlyAsTheRunRequires) {
  // Guards the skew run against passing vacuously: the process clock must be
  // off from the database's by AMS_HA_EXPECTED_CLOCK_SKEW_MS (0 when unset),
  // so the server really kept the real clock and the client really did not.
  const char* env = std::getenv("AMS_HA_EXPECTED_CLOCK_SKEW_MS");
  const int64_t expected = env ? std::atoll(env) : 0;
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok()) << acquired.status().ToString();
  const int64_t process_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const int64_t skew = process_ms - acquired->db_now_ms;
  EXPECT_NEAR(static_cast<double>(skew), static_cast<double>(expected), 5000.0)
      << "process clock - database clock = " << skew << " ms";
}

TEST_P(SqlLeaseStoreTest, ApplySchemaIsIdempotent) {
  ASSERT_TRUE(store_->ApplySchema().ok());
  ASSERT_TRUE(store_->ApplySchema().ok());
  auto admin = GetParam().admin();
  ASSERT_NE(admin, nullptr);
  auto columns = admin->Single(GetParam().columns_sql);
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  EXPECT_EQ(*columns, GetParam().columns);
  auto indexes = admin->Single(GetParam().indexes_sql);
  ASSERT_TRUE(indexes.ok()) << indexes.status().ToString();
  EXPECT_EQ(*indexes, GetParam().indexes);
}

TEST_P(SqlLeaseStoreTest, ReadReturnsNothingForAMissingRow) {
  auto read = store_->Read(key_);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_FALSE(read->has_value());
}

TEST_P(SqlLeaseStoreTest, AcquireCreatesTheRowAndTakesIt) {
  LeaseHolder a = Holder("a");
  auto acquired = store_->Acquire(key_, a, kLongTtl);
  ASSERT_TRUE(acquired.ok()) << acquired.status().ToString();
  EXPECT_EQ(acquired->key, key_);
  EXPECT_EQ(acquired->node_id, a.node_id);
  EXPECT_EQ(acquired->node_ip, a.node_ip);
  EXPECT_EQ(acquired->server_info_json, a.server_info_json);
  EXPECT_EQ(acquired->version, 1);
  // One database instant for the condition, the expiry and updated_at.
  EXPECT_EQ(acquired->lease_expire_ts_ms, acquired->db_now_ms + kLongTtl.count());
  EXPECT_EQ(acquired->updated_at_ms, acquired->db_now_ms);
  EXPECT_FALSE(acquired->Expired());
  ExpectSameRow(MustRead(), *acquired);
}

TEST_P(SqlLeaseStoreTest, AcquireFailsWhileAnotherHolderIsUnexpired) {
  ASSERT_TRUE(store_->Acquire(key_, Holder("a"), kLongTtl).ok());
  LeaseRecord before = MustRead();
  auto other = NewStore();
  auto taken = other->Acquire(key_, Holder("b"), kLongTtl);
  EXPECT_EQ(taken.status().code(), StatusCode::kConflict) << taken.status().ToString();
  // Not even the holder itself re-acquires an unexpired lease: it renews.
  EXPECT_EQ(store_->Acquire(key_, Holder("a"), kLongTtl).status().code(), StatusCode::kConflict);
  ExpectSameRow(MustRead(), before);
}

TEST_P(SqlLeaseStoreTest, AcquireSucceedsOnceTheLeaseHasExpired) {
  ASSERT_TRUE(store_->Acquire(key_, Holder("a"), kShortTtl).ok());
  std::this_thread::sleep_for(kShortTtl * 2);
  auto taken = NewStore()->Acquire(key_, Holder("b"), kLongTtl);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(taken->node_id, Holder("b").node_id);
  EXPECT_EQ(taken->version, 2);
}

TEST_P(SqlLeaseStoreTest, RenewExtendsTheLeaseAndBumpsTheVersion) {
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  auto renewed = store_->Renew(key_, Holder("a").node_id, acquired->version, kLongTtl * 2);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->version, acquired->version + 1);
  EXPECT_EQ(renewed->lease_expire_ts_ms, renewed->db_now_ms + 2 * kLongTtl.count());
  EXPECT_GE(renewed->db_now_ms, acquired->db_now_ms);
  EXPECT_EQ(renewed->node_id, acquired->node_id);
  EXPECT_EQ(renewed->server_info_json, acquired->server_info_json);
}

TEST_P(SqlLeaseStoreTest, RenewWithInfoExtendsTheLeaseAndReplacesTheServerInfoAtOnce) {
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  const std::string info = R"({"pod":"ams-0","ams":"serving"})";
  auto renewed =
      store_->RenewWithInfo(key_, Holder("a").node_id, acquired->version, kLongTtl * 2, info);
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->version, acquired->version + 1);
  EXPECT_EQ(renewed->lease_expire_ts_ms, renewed->db_now_ms + 2 * kLongTtl.count());
  EXPECT_EQ(renewed->updated_at_ms, renewed->db_now_ms);
  EXPECT_EQ(renewed->server_info_json, info);
  EXPECT_EQ(renewed->node_id, acquired->node_id);
  ExpectSameRow(MustRead(), *renewed);
}

TEST_P(SqlLeaseStoreTest, RenewWithInfoFailsStaleForeignOrExpiredAndChangesNothing) {
  auto acquired = store_->Acquire(key_, Holder("a"), kShortTtl);
  ASSERT_TRUE(acquired.ok());
  LeaseRecord before = MustRead();
  auto other = store_->RenewWithInfo(key_, Holder("b").node_id, acquired->version, kLongTtl, "{}");
  EXPECT_EQ(other.status().code(), StatusCode::kConflict) << other.status().ToString();
  auto stale =
      store_->RenewWithInfo(key_, Holder("a").node_id, acquired->version - 1, kLongTtl, "{}");
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict) << stale.status().ToString();
  std::this_thread::sleep_for(kShortTtl * 2);
  auto late = store_->RenewWithInfo(key_, Holder("a").node_id, acquired->version, kLongTtl, "{}");
  EXPECT_EQ(late.status().code(), StatusCode::kConflict) << late.status().ToString();
  LeaseRecord after = MustRead();
  ExpectSameRow(after, before);
  EXPECT_EQ(after.server_info_json, Holder("a").server_info_json);
}

TEST_P(SqlLeaseStoreTest, RenewFailsWithAStaleVersionAndChangesNothing) {
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  ASSERT_TRUE(store_->Renew(key_, Holder("a").node_id, acquired->version, kLongTtl).ok());
  LeaseRecord before = MustRead();
  auto stale = store_->Renew(key_, Holder("a").node_id, acquired->version, kLongTtl);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict) << stale.status().ToString();
  ExpectSameRow(MustRead(), before);
}

TEST_P(SqlLeaseStoreTest, RenewFailsAfterExpiryAndChangesNothing) {
  auto acquired = store_->Acquire(key_, Holder("a"), kShortTtl);
  ASSERT_TRUE(acquired.ok());
  std::this_thread::sleep_for(kShortTtl * 2);
  LeaseRecord before = MustRead();
  EXPECT_TRUE(before.Expired());
  auto late = store_->Renew(key_, Holder("a").node_id, acquired->version, kLongTtl);
  EXPECT_EQ(late.status().code(), StatusCode::kConflict) << late.status().ToString();
  ExpectSameRow(MustRead(), before);
}

TEST_P(SqlLeaseStoreTest, RenewFailsForANodeThatDoesNotHoldTheLease) {
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  auto wrong = store_->Renew(key_, Holder("b").node_id, acquired->version, kLongTtl);
  EXPECT_EQ(wrong.status().code(), StatusCode::kConflict);
}

TEST_P(SqlLeaseStoreTest, HandOverMovesAnUnexpiredLeaseInOneStep) {
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  auto moved =
      store_->HandOver(key_, Holder("a").node_id, acquired->version, Holder("b"), kLongTtl);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->node_id, Holder("b").node_id);
  EXPECT_EQ(moved->node_ip, Holder("b").node_ip);
  EXPECT_EQ(moved->version, acquired->version + 1);
  EXPECT_EQ(moved->lease_expire_ts_ms, moved->db_now_ms + kLongTtl.count());
  // The new holder renews from here; the old one cannot.
  EXPECT_TRUE(store_->Renew(key_, Holder("b").node_id, moved->version, kLongTtl).ok());
  EXPECT_EQ(store_->Renew(key_, Holder("a").node_id, moved->version + 1, kLongTtl).status().code(),
            StatusCode::kConflict);
}

TEST_P(SqlLeaseStoreTest, HandOverFailsWhenTheVersionMoved) {
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  ASSERT_TRUE(store_->Renew(key_, Holder("a").node_id, acquired->version, kLongTtl).ok());
  LeaseRecord before = MustRead();
  auto moved =
      store_->HandOver(key_, Holder("a").node_id, acquired->version, Holder("b"), kLongTtl);
  EXPECT_EQ(moved.status().code(), StatusCode::kConflict);
  ExpectSameRow(MustRead(), before);
}

TEST_P(SqlLeaseStoreTest, ReleaseLetsAnotherNodeAcquireAtOnce) {
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  ASSERT_TRUE(store_->Release(key_, Holder("a").node_id, acquired->version).ok());
  LeaseRecord released = MustRead();
  EXPECT_TRUE(released.Expired());
  EXPECT_EQ(released.version, acquired->version + 1);
  auto taken = NewStore()->Acquire(key_, Holder("b"), kLongTtl);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(taken->version, acquired->version + 2);
}

TEST_P(SqlLeaseStoreTest, ReleaseFailsForAStaleVersion) {
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  ASSERT_TRUE(store_->Renew(key_, Holder("a").node_id, acquired->version, kLongTtl).ok());
  EXPECT_EQ(store_->Release(key_, Holder("a").node_id, acquired->version).code(),
            StatusCode::kConflict);
  EXPECT_FALSE(MustRead().Expired());
}

TEST_P(SqlLeaseStoreTest, PublishServiceInfoUpsertsBothServiceRows) {
  LeaseHolder table{"a:1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1260, 1630)};
  LeaseHolder optimizing{"a:1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1261, 1630)};
  auto a = store_->Acquire(key_, {"a:1261:uuid", "10.0.0.1", "{}"}, kLongTtl);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(
      store_->PublishServiceInfo(key_.cluster_name, "a:1261:uuid", a->version, table, optimizing)
          .ok());
  LeaseHolder table2{"b:1261:uuid", "10.0.0.2", ServerInfoJson("10.0.0.2", 1260, 1630)};
  LeaseHolder optimizing2{"b:1261:uuid", "10.0.0.2", ServerInfoJson("10.0.0.2", 1261, 1630)};
  auto b = store_->HandOver(key_, "a:1261:uuid", a->version, {"b:1261:uuid", "10.0.0.2", "{}"},
                            kLongTtl);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Status published =
      store_->PublishServiceInfo(key_.cluster_name, "b:1261:uuid", b->version, table2, optimizing2);
  ASSERT_TRUE(published.ok()) << published.ToString();
  for (const auto& [service, holder] :
       {std::pair<const char*, LeaseHolder>{kTableServiceName, table2},
        {kOptimizingServiceName, optimizing2}}) {
    auto read = store_->Read(LeaseKey{key_.cluster_name, service});
    ASSERT_TRUE(read.ok() && read->has_value()) << service;
    const LeaseRecord& row = **read;
    EXPECT_EQ(row.node_id, holder.node_id) << service;
    EXPECT_EQ(row.node_ip, holder.node_ip) << service;
    EXPECT_EQ(row.server_info_json, holder.server_info_json) << service;
    EXPECT_EQ(row.version, 1) << service;  // inserted at 0, updated once
    EXPECT_FALSE(row.lease_expire_ts_ms.has_value()) << service;
    EXPECT_LE(row.updated_at_ms, row.db_now_ms) << service;
  }
  // The election row is not touched.
  EXPECT_EQ(MustRead().version, b->version);
}

// A controller that decided on an AMS row that has moved since (another
// controller handed it over, or it renewed meanwhile, or it expired) cannot
// publish its stale leader: the condition is judged in the same statement.
TEST_P(SqlLeaseStoreTest, AStalePublishOfServiceInfoIsRefusedAndWritesNothing) {
  LeaseHolder a_table{"a:1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1260, 1630)};
  LeaseHolder a_opt{"a:1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1261, 1630)};
  LeaseHolder b_table{"b:1261:uuid", "10.0.0.2", ServerInfoJson("10.0.0.2", 1260, 1630)};
  LeaseHolder b_opt{"b:1261:uuid", "10.0.0.2", ServerInfoJson("10.0.0.2", 1261, 1630)};
  EXPECT_EQ(store_->PublishServiceInfo(key_.cluster_name, "a:1261:uuid", 1, a_table, a_opt).code(),
            StatusCode::kConflict)
      << "no AMS row at all";
  auto a = store_->Acquire(key_, {"a:1261:uuid", "10.0.0.1", "{}"}, kLongTtl);
  ASSERT_TRUE(a.ok());
  auto b = store_->HandOver(key_, "a:1261:uuid", a->version, {"b:1261:uuid", "10.0.0.2", "{}"},
                            kLongTtl);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(
      store_->PublishServiceInfo(key_.cluster_name, "b:1261:uuid", b->version, b_table, b_opt)
          .ok());
  // The old holder at its old version: refused.
  EXPECT_EQ(store_->PublishServiceInfo(key_.cluster_name, "a:1261:uuid", a->version, a_table, a_opt)
                .code(),
            StatusCode::kConflict);
  // The right holder at a version that has moved (renewed since): refused.
  auto renewed = store_->Renew(key_, "b:1261:uuid", b->version, kLongTtl);
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(store_->PublishServiceInfo(key_.cluster_name, "b:1261:uuid", b->version, a_table, a_opt)
                .code(),
            StatusCode::kConflict);
  // An expired lease: refused.
  ASSERT_TRUE(store_->Release(key_, "b:1261:uuid", renewed->version).ok());
  EXPECT_EQ(store_
                ->PublishServiceInfo(key_.cluster_name, "b:1261:uuid", renewed->version + 1,
                                     a_table, a_opt)
                .code(),
            StatusCode::kConflict);
  for (const char* service : {kTableServiceName, kOptimizingServiceName}) {
    auto read = store_->Read(LeaseKey{key_.cluster_name, service});
    ASSERT_TRUE(read.ok() && read->has_value()) << service;
    EXPECT_EQ((*read)->node_id, "b:1261:uuid") << service << ": nothing stale was written";
    EXPECT_EQ((*read)->version, 0) << service << ": written once";
  }
}

// A publish waits for a hand-over in flight on another connection and then
// finds the row moved: it never commits service info for the old holder.
TEST_P(SqlLeaseStoreTest, APublishRacingAHandOverSeesTheCommittedHandOver) {
  auto a = store_->Acquire(key_, {"a:1261:uuid", "10.0.0.1", "{}"}, kLongTtl);
  ASSERT_TRUE(a.ok());
  std::unique_ptr<SqlClient> session = GetParam().admin();
  ASSERT_NE(session, nullptr);
  SqlClient& locker = *session;
  // Hold the AMS row locked as an uncommitted hand-over would, then commit
  // the hand-over while our publish waits for the lock.
  ASSERT_TRUE(locker.Execute("START TRANSACTION", {}).ok());
  ASSERT_TRUE(locker
                  .Execute("SELECT 1 FROM ha_lease WHERE cluster_name = ? AND service_name = 'AMS'"
                           " FOR UPDATE",
                           {key_.cluster_name})
                  .ok());
  Status publish_status;
  std::thread publisher([&] {
    LeaseHolder t{"a:1261:uuid", "10.0.0.1", ServerInfoJson("10.0.0.1", 1260, 1630)};
    publish_status = store_->PublishServiceInfo(key_.cluster_name, "a:1261:uuid", a->version, t, t);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(locker
                  .Execute("UPDATE ha_lease SET node_id = 'b:1261:uuid', version = version + 1"
                           " WHERE cluster_name = ? AND service_name = 'AMS'",
                           {key_.cluster_name})
                  .ok());
  ASSERT_TRUE(locker.Execute("COMMIT", {}).ok());
  publisher.join();
  EXPECT_EQ(publish_status.code(), StatusCode::kConflict) << publish_status.ToString();
  auto table = store_->Read(LeaseKey{key_.cluster_name, kTableServiceName});
  ASSERT_TRUE(table.ok());
  EXPECT_FALSE(table->has_value()) << "nothing published for the old holder";
}

TEST_P(SqlLeaseStoreTest, ReadClustersReadsAThousandClustersAtOnce) {
  const std::string prefix = key_.cluster_name;
  std::vector<std::string> clusters;
  for (int i = 0; i < 1000; ++i) clusters.push_back(prefix + "-" + std::to_string(i));
  clusters.push_back(prefix + "-o'brien\\x");  // quoted safely
  for (size_t i = 0; i < clusters.size(); i += 10) {
    ASSERT_TRUE(store_->Acquire({clusters[i], kAmsServiceName}, Holder("a"), kLongTtl).ok());
  }
  auto start = std::chrono::steady_clock::now();
  auto rows = store_->ReadClusters(clusters);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), (clusters.size() + 9) / 10);
  bool quoted_found = false;
  for (const LeaseRecord& row : *rows) {
    EXPECT_GT(row.db_now_ms, 0);
    if (row.key.cluster_name == clusters.back()) quoted_found = true;
  }
  EXPECT_TRUE(quoted_found) << "the name with a quote and a backslash was matched";
  std::printf("ReadClusters of %zu clusters on %s: %.2f ms\n", clusters.size(),
              GetParam().name.c_str(), ms);
}

TEST_P(SqlLeaseStoreTest, InvalidInputIsRejectedBeforeReachingTheDatabase) {
  LeaseDatabaseOptions bad = GetParam().options();
  bad.table = "ha_lease; DROP TABLE ha_lease";
  EXPECT_EQ(testing::OpenEngineLeaseStore(GetParam().name, bad).status().code(),
            StatusCode::kInvalidArgument);
  bad = GetParam().options();
  bad.statement_timeout = milliseconds(0);
  EXPECT_EQ(testing::OpenEngineLeaseStore(GetParam().name, bad).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Acquire(key_, Holder("a"), milliseconds(-1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Acquire(LeaseKey{"", "AMS"}, Holder("a"), kLongTtl).status().code(),
            StatusCode::kInvalidArgument);
  LeaseHolder too_long = Holder("a");
  too_long.node_id = std::string(300, 'x');
  EXPECT_EQ(store_->Acquire(key_, too_long, kLongTtl).status().code(),
            StatusCode::kInvalidArgument);
}

// N threads, each with its own store (its own connection), wait at a gate
// and then all call the same operation at once; the gate reopens per round.
class RoundGate {
 public:
  explicit RoundGate(int threads) : threads_(threads) {}

  // Worker side: blocks until round `r` opens.
  void AwaitRound(int r) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return round_ >= r; });
  }
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    cv_.notify_all();
  }
  // Main side: opens round `r` and waits for every worker to finish it.
  void RunRound(int r) {
    std::unique_lock<std::mutex> lock(mu_);
    done_ = 0;
    round_ = r;
    cv_.notify_all();
    cv_.wait(lock, [&] { return done_ == threads_; });
  }

 private:
  const int threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  int round_ = -1;
  int done_ = 0;
};

TEST_P(SqlLeaseStoreTest, SixteenConnectionsRacingForAnExpiredLeaseHaveExactlyOneWinner) {
  constexpr int kRacers = 16;
  constexpr int kRounds = 200;
  std::vector<std::unique_ptr<SqlLeaseStore>> stores;
  for (int i = 0; i < kRacers; ++i) {
    stores.push_back(NewStore());
    // Connect now, so that the race is about the UPDATE, not the handshake.
    ASSERT_TRUE(stores.back()->Read(key_).ok());
  }
  std::vector<StatusOr<LeaseRecord>> results(kRacers, UnavailableError("not run"));
  RoundGate gate(kRacers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      for (int r = 0; r < kRounds; ++r) {
        gate.AwaitRound(r);
        results[i] = stores[i]->Acquire(key_, Holder("racer" + std::to_string(i)), kLongTtl);
        gate.Done();
      }
    });
  }
  int expected_version = 0;
  std::vector<int> wins(kRacers, 0);
  for (int r = 0; r < kRounds; ++r) {
    gate.RunRound(r);
    int winner = -1;
    int winners = 0;
    for (int i = 0; i < kRacers; ++i) {
      if (results[i].ok()) {
        winner = i;
        ++winners;
      } else {
        EXPECT_EQ(results[i].status().code(), StatusCode::kConflict)
            << "round " << r << ": " << results[i].status().ToString();
      }
    }
    ASSERT_EQ(winners, 1) << "round " << r;
    ++wins[winner];
    const LeaseRecord& won = *results[winner];
    EXPECT_EQ(won.version, expected_version + 1) << "round " << r;
    EXPECT_EQ(won.node_id, Holder("racer" + std::to_string(winner)).node_id);
    // Expire it again for the next round (Release bumps the version too).
    ASSERT_TRUE(store_->Release(key_, *won.node_id, won.version).ok()) << "round " << r;
    expected_version = won.version + 1;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(MustRead().version, 2 * kRounds);
  int distinct = 0;
  for (int w : wins) distinct += w > 0 ? 1 : 0;
  RecordProperty("distinct_winners", distinct);
  std::printf("%d of %d connections won at least one of %d rounds\n", distinct, kRacers, kRounds);
}

TEST_P(SqlLeaseStoreTest, HandOverRacingTheOldHoldersRenewHasExactlyOneWinner) {
  constexpr int kRounds = 200;
  auto holder_store = NewStore();      // the old holder's own renew loop
  auto controller_store = NewStore();  // its controller handing the lease over
  auto acquired = store_->Acquire(key_, Holder("a"), kLongTtl);
  ASSERT_TRUE(acquired.ok());
  int version = acquired->version;
  int renew_wins = 0;
  int hand_over_wins = 0;
  for (int r = 0; r < kRounds; ++r) {
    std::promise<void> start;
    std::shared_future<void> go = start.get_future().share();
    auto renew = std::async(std::launch::async, [&] {
      go.wait();
      return holder_store->Renew(key_, Holder("a").node_id, version, kLongTtl);
    });
    auto hand_over = std::async(std::launch::async, [&] {
      go.wait();
      return controller_store->HandOver(key_, Holder("a").node_id, version, Holder("b"), kLongTtl);
    });
    start.set_value();
    StatusOr<LeaseRecord> renewed = renew.get();
    StatusOr<LeaseRecord> moved = hand_over.get();
    ASSERT_NE(renewed.ok(), moved.ok())
        << "round " << r << ": renew " << renewed.status().ToString() << ", hand-over "
        << moved.status().ToString();
    const StatusOr<LeaseRecord>& loser = renewed.ok() ? moved : renewed;
    EXPECT_EQ(loser.status().code(), StatusCode::kConflict) << loser.status().ToString();
    LeaseRecord now = MustRead();
    EXPECT_EQ(now.version, version + 1);
    if (renewed.ok()) {
      ++renew_wins;
      EXPECT_EQ(now.node_id, Holder("a").node_id);
      version = now.version;
    } else {
      ++hand_over_wins;
      EXPECT_EQ(now.node_id, Holder("b").node_id);
      // Back to "a" for the next round.
      auto back = store_->HandOver(key_, Holder("b").node_id, now.version, Holder("a"), kLongTtl);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      version = back->version;
    }
  }
  RecordProperty("renew_wins", renew_wins);
  RecordProperty("hand_over_wins", hand_over_wins);
  std::printf("renew won %d rounds, hand-over won %d\n", renew_wins, hand_over_wins);
}

INSTANTIATE_TEST_SUITE_P(Engines, SqlLeaseStoreTest, ::testing::ValuesIn(kEngines),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return info.param.name == "mysql" ? "OnMariaDb" : "OnPostgres";
                         });

}  // namespace
}  // namespace amsha
