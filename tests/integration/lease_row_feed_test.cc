// The controller's database side at scale, against a real PostgreSQL:
// ReadClusters of a thousand clusters in one statement, the NOTIFY payload
// that carries the row, LeaseRowFeed keeping a LeaseRowCache equal to the
// table under concurrent writers and across a killed LISTEN connection, its
// on_change rules, and LeaseStorePool's bound on connections.
#include "lease/lease_row_feed.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "lease/caching_lease_store.h"
#include "lease/lease_notification.h"
#include "lease/lease_row_cache.h"
#include "lease/lease_store_pool.h"
#include "lease/postgres_lease_store.h"
#include "lease/postgres_listener.h"
#include "support/postgres_environment.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::PostgresEnvironment;

const auto* const kPostgres = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

LeaseHolder Holder(const std::string& name, const std::string& info = "{}") {
  return {name + ":1261:" + name, "10.0.0.1", info};
}

// The store options with an application_name, to find its backends.
PostgresConnectionOptions Named(const std::string& application_name) {
  PostgresConnectionOptions options = PostgresEnvironment::server().StoreOptions();
  options.url += (options.url.find('?') == std::string::npos ? "?" : "&") +
                 std::string("application_name=") + application_name;
  return options;
}

std::unique_ptr<PostgresLeaseStore> NewStore(const std::string& application_name = "amsha-test") {
  auto store = PostgresLeaseStore::Create(Named(application_name));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

int Backends(const std::string& application_name) {
  auto admin = PostgresEnvironment::Admin();
  auto n = admin->Scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                         {application_name});
  EXPECT_TRUE(n.ok());
  return n.ok() ? std::stoi(*n) : -1;
}

bool Eventually(const std::function<bool()>& done, milliseconds limit = milliseconds(10000)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

class LeaseRowFeedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // pg_stat_statements counts the statements ReadClusters sends.
    auto admin = PostgresEnvironment::Admin();
    ASSERT_TRUE(
        admin->Exec("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'").ok());
    admin.reset();
    ASSERT_TRUE(PostgresEnvironment::server().Stop().ok());
    ASSERT_TRUE(PostgresEnvironment::server().Start().ok());
    admin = PostgresEnvironment::Admin();
    ASSERT_TRUE(admin->Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").ok());
    auto store = NewStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->ApplySchema().ok());
  }

  void SetUp() override {
    prefix_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  std::string Cluster(int i) const { return prefix_ + "-" + std::to_string(i); }

  // A feed over a pool, as the controller wires it.
  void StartFeed(const std::vector<std::string>& clusters, const std::string& app = "feed") {
    pool_ = std::make_unique<LeaseStorePool>(
        [app]() -> StatusOr<std::unique_ptr<SqlLeaseStore>> {
          auto store = PostgresLeaseStore::Create(Named(app));
          if (!store.ok()) return store.status();
          return std::unique_ptr<SqlLeaseStore>(std::move(store).value());
        },
        2);
    caching_ = std::make_unique<CachingLeaseStore>(pool_->Shared(), &cache_, RealClock::Get());
    LeaseRowFeedOptions options;
    options.tick = milliseconds(20);
    feed_ = std::make_unique<LeaseRowFeed>(
        &cache_, pool_->Shared(),
        [app](LeaseListener::Callbacks callbacks) {
          return StartPostgresListener(Named(app + "-listen"), std::move(callbacks));
        },
        RealClock::Get(), options,
        [this](const std::string& cluster) {
          std::lock_guard<std::mutex> lock(mu_);
          changes_.push_back(cluster);
        });
    std::vector<FeedCluster> tracked;
    for (const std::string& c : clusters) tracked.push_back({c, false});
    feed_->SetClusters(tracked);
    ASSERT_TRUE(feed_->Start().ok());
    ASSERT_TRUE(Eventually([&] { return feed_->Listening() && cache_.Known(clusters.front()); }));
  }

  int ChangesOf(const std::string& cluster) {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count(changes_.begin(), changes_.end(), cluster));
  }

  // Whether every row of `clusters` in the cache equals the table's.
  bool CacheEqualsTable(const std::vector<std::string>& clusters) {
    auto store = NewStore();
    auto rows = store->ReadClusters(clusters);
    if (!rows.ok() || rows->empty()) return false;
    for (const LeaseRecord& row : *rows) {
      LeaseRowCache::Cached cached = cache_.Get(row.key);
      if (!cached.known || !cached.row || cached.row->node_id != row.node_id ||
          cached.row->server_info_json != row.server_info_json ||
          cached.row->version != row.version ||
          cached.row->lease_expire_ts_ms != row.lease_expire_ts_ms ||
          cached.row->updated_at_ms != row.updated_at_ms) {
        return false;
      }
    }
    return true;
  }

  // Every row of `clusters` in the cache equals the table's.
  void ExpectCacheEqualsTable(const std::vector<std::string>& clusters) {
    auto store = NewStore();
    auto rows = store->ReadClusters(clusters);
    ASSERT_TRUE(rows.ok());
    ASSERT_FALSE(rows->empty());
    for (const LeaseRecord& row : *rows) {
      LeaseRowCache::Cached cached = cache_.Get(row.key);
      ASSERT_TRUE(cached.known && cached.row)
          << row.key.cluster_name << "/" << row.key.service_name;
      EXPECT_EQ(cached.row->node_id, row.node_id) << row.key.cluster_name;
      EXPECT_EQ(cached.row->server_info_json, row.server_info_json) << row.key.cluster_name;
      EXPECT_EQ(cached.row->version, row.version) << row.key.cluster_name;
      EXPECT_EQ(cached.row->lease_expire_ts_ms, row.lease_expire_ts_ms) << row.key.cluster_name;
      EXPECT_EQ(cached.row->updated_at_ms, row.updated_at_ms) << row.key.cluster_name;
    }
  }

  std::string prefix_;
  LeaseRowCache cache_{RealClock::Get()};
  std::unique_ptr<LeaseStorePool> pool_;
  std::unique_ptr<CachingLeaseStore> caching_;
  std::unique_ptr<LeaseRowFeed> feed_;
  std::mutex mu_;
  std::vector<std::string> changes_;
};

TEST_F(LeaseRowFeedTest, ReadClustersReadsAThousandClustersInOneStatement) {
  auto admin = PostgresEnvironment::Admin();
  std::vector<std::string> clusters;
  for (int i = 0; i < 1000; ++i) clusters.push_back(Cluster(i));
  // Two rows per cluster, written in one statement.
  ASSERT_TRUE(
      admin
          ->Exec("INSERT INTO ha_lease (cluster_name, service_name, node_id, version,"
                 " updated_at) SELECT $1 || '-' || g, s, 'n', 1, 0"
                 " FROM generate_series(0, 999) AS g, (VALUES ('AMS'), ('AMS_GATE')) AS v(s)",
                 {prefix_})
          .ok());
  auto store = NewStore();
  ASSERT_TRUE(store->Read({Cluster(0), kAmsServiceName}).ok());  // connected, prepared
  ASSERT_TRUE(admin->Exec("SELECT pg_stat_statements_reset()").ok());
  auto start = std::chrono::steady_clock::now();
  auto rows = store->ReadClusters(clusters);
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 2000u);
  for (const LeaseRecord& row : *rows) EXPECT_GT(row.db_now_ms, 0);
  auto calls = admin->Scalar(
      "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%ha_lease%'");
  ASSERT_TRUE(calls.ok()) << calls.status().ToString();
  EXPECT_EQ(*calls, "1") << "one statement for the whole list";
  std::printf("ReadClusters of 1000 clusters (2000 rows), PostgreSQL: %.2f ms\n", ms);
  // Again, warm.
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store->ReadClusters(clusters).ok());
  std::printf(
      "  again: %.2f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
}

TEST_F(LeaseRowFeedTest, ReadClustersKeepsNamesWithQuotesAndCommasApart) {
  auto store = NewStore();
  const std::string odd = prefix_ + "-a\"b,{c}\\d";
  ASSERT_TRUE(store->Acquire({odd, kAmsServiceName}, Holder("a"), seconds(30)).ok());
  auto rows = store->ReadClusters({odd, prefix_ + "-a"});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].key.cluster_name, odd);
}

// Every payload on the channel, through the shared listener.
class PayloadRecorder {
 public:
  bool Listen() {
    LeaseListener::Callbacks callbacks;
    callbacks.on_listening = [this] { listening_ = true; };
    callbacks.on_notification = [this](const std::string& p) {
      std::lock_guard<std::mutex> lock(mu_);
      payloads_.push_back(p);
    };
    auto listener = StartPostgresListener(Named("payload-listen"), callbacks);
    if (!listener.ok()) return false;
    listener_ = std::move(listener).value();
    return Eventually([this] { return listening_.load(); });
  }
  std::vector<std::string> Payloads() {
    std::lock_guard<std::mutex> lock(mu_);
    return payloads_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> payloads_;
  std::atomic<bool> listening_{false};
  std::unique_ptr<LeaseListener> listener_;  // last: its thread uses the fields above
};

TEST_F(LeaseRowFeedTest, TheNotificationCarriesTheRowAfterTheWrite) {
  PayloadRecorder recorder;
  ASSERT_TRUE(recorder.Listen());
  auto store = NewStore();
  const LeaseKey key{Cluster(0), kAmsServiceName};
  auto acquired = store->Acquire(key, Holder("a", R"({"host":"10.0.0.1"})"), seconds(30));
  ASSERT_TRUE(acquired.ok());
  auto count = [&] { return recorder.Payloads().size(); };
  ASSERT_TRUE(Eventually([&] { return count() >= 1; }));
  std::optional<LeaseNotification> n = ParseLeaseNotification(recorder.Payloads()[0]);
  ASSERT_TRUE(n && n->row) << "a row payload";
  EXPECT_EQ(n->row->key, key);
  EXPECT_EQ(n->row->node_id, acquired->node_id);
  EXPECT_EQ(n->row->node_ip, acquired->node_ip);
  EXPECT_EQ(n->row->server_info_json, acquired->server_info_json);
  EXPECT_EQ(n->row->lease_expire_ts_ms, acquired->lease_expire_ts_ms);
  EXPECT_EQ(n->row->version, acquired->version);
  EXPECT_EQ(n->row->updated_at_ms, acquired->updated_at_ms);
  EXPECT_EQ(n->row->db_now_ms, acquired->db_now_ms);

  // RenewWithInfo notifies only when the info changes; Renew never.
  auto same = store->RenewWithInfo(key, acquired->node_id.value(), acquired->version, seconds(30),
                                   acquired->server_info_json.value());
  ASSERT_TRUE(same.ok());
  auto renewed = store->Renew(key, acquired->node_id.value(), same->version, seconds(30));
  ASSERT_TRUE(renewed.ok());
  auto changed = store->RenewWithInfo(key, acquired->node_id.value(), renewed->version, seconds(30),
                                      R"({"ams":"serving"})");
  ASSERT_TRUE(changed.ok());
  ASSERT_TRUE(Eventually([&] { return count() >= 2; }));
  std::this_thread::sleep_for(milliseconds(200));
  std::vector<std::string> payloads = recorder.Payloads();
  ASSERT_EQ(payloads.size(), 2u);
  auto second = ParseLeaseNotification(payloads[1]);
  ASSERT_TRUE(second && second->row);
  EXPECT_EQ(second->row->version, changed->version);
  EXPECT_EQ(second->row->server_info_json, R"({"ams":"serving"})");
}

TEST_F(LeaseRowFeedTest, ARowTooBigForNotifyIsNotifiedAsTheBareClusterName) {
  PayloadRecorder recorder;
  ASSERT_TRUE(recorder.Listen());
  auto store = NewStore();
  const std::string big = "{\"x\":\"" + std::string(9000, 'x') + "\"}";
  ASSERT_TRUE(store->Acquire({Cluster(0), kAmsServiceName}, Holder("a", big), seconds(30)).ok());
  ASSERT_TRUE(Eventually([&] { return !recorder.Payloads().empty(); }));
  EXPECT_EQ(recorder.Payloads()[0], Cluster(0));
}

TEST_F(LeaseRowFeedTest, TheCacheEqualsTheTableAfterConcurrentWriters) {
  std::vector<std::string> clusters;
  for (int i = 0; i < 20; ++i) clusters.push_back(Cluster(i));
  StartFeed(clusters);
  // Writers elsewhere (notifying writes), and the controller through its
  // caching store (renewals put by the store itself).
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      auto store = NewStore("writer");
      std::mt19937 rng(w);
      int n = 0;
      while (!stop) {
        const LeaseKey key{clusters[rng() % clusters.size()], w == 2 ? "AMS_GATE" : "AMS"};
        auto row = store->Read(key);
        if (!row.ok()) continue;
        const std::string me = "w" + std::to_string(w);
        if (!row->has_value() || (*row)->Expired()) {
          store->Acquire(key, Holder(me), seconds(30));
        } else if (rng() % 3 == 0) {
          store->HandOver(key, (*row)->node_id.value(), (*row)->version,
                          Holder(me + "x" + std::to_string(n)), seconds(30));
        } else if (rng() % 2 == 0) {
          store->RenewWithInfo(key, (*row)->node_id.value(), (*row)->version, seconds(30),
                               "{\"n\":" + std::to_string(++n) + "}");
        } else {
          store->Release(key, (*row)->node_id.value(), (*row)->version);
        }
      }
    });
  }
  writers.emplace_back([&] {
    while (!stop) {
      for (const std::string& c : clusters) {
        const LeaseKey key{c, "SWITCHOVER"};
        auto row = caching_->Read(key);
        if (!row.ok()) continue;
        if (!row->has_value() || (*row)->Expired()) {
          caching_->Acquire(key, Holder("ctl"), seconds(30));
        } else if ((*row)->HeldBy("ctl:1261:ctl")) {
          caching_->Renew(key, "ctl:1261:ctl", (*row)->version, seconds(30));
        }
      }
    }
  });
  std::this_thread::sleep_for(seconds(3));
  stop = true;
  for (auto& t : writers) t.join();
  // Notifications in flight arrive within moments.
  Eventually([&] { return CacheEqualsTable(clusters); }, milliseconds(5000));
  ExpectCacheEqualsTable(clusters);
}

TEST_F(LeaseRowFeedTest, AKilledListenConnectionIsResyncedAndListensAgain) {
  const LeaseKey key{Cluster(0), kAmsServiceName};
  auto store = NewStore();
  ASSERT_TRUE(store->Acquire(key, Holder("a"), seconds(30)).ok());
  StartFeed({Cluster(0)}, "killfeed");
  ASSERT_EQ(*cache_.Get(key).row->node_id, "a:1261:a");
  // A writer that sends no NOTIFY (as a lost notification would look).
  auto admin = PostgresEnvironment::Admin();
  ASSERT_TRUE(admin
                  ->Exec("UPDATE ha_lease SET node_id = 'b:1261:b', version = version + 1"
                         " WHERE cluster_name = $1 AND service_name = 'AMS'",
                         {Cluster(0)})
                  .ok());
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(*cache_.Get(key).row->node_id, "a:1261:a") << "nobody told the feed";
  auto killed = admin->Scalar(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE application_name = 'killfeed-listen'");
  ASSERT_TRUE(killed.ok());
  ASSERT_EQ(*killed, "1");
  EXPECT_TRUE(Eventually([&] {
    auto got = cache_.Get(key);
    return feed_->Listening() && got.known && got.row && got.row->node_id == "b:1261:b";
  })) << "listening again, and resynced";
  EXPECT_GE(ChangesOf(Cluster(0)), 1);
  EXPECT_EQ(Backends("killfeed-listen"), 1);
}

TEST_F(LeaseRowFeedTest, WhileNotListeningTheNotifiedClustersAreReadThrough) {
  const LeaseKey key{Cluster(0), kAmsServiceName};
  auto store = NewStore();
  ASSERT_TRUE(store->Acquire(key, Holder("a"), seconds(30)).ok());
  StartFeed({Cluster(0)}, "downfeed");
  ASSERT_TRUE(cache_.Known(Cluster(0)));
  // The listener cannot come back: its role may not log in any more.
  auto admin = PostgresEnvironment::Admin();
  ASSERT_TRUE(admin->Exec("ALTER ROLE ams CONNECTION LIMIT 0").ok());
  feed_->DropListenConnection();
  EXPECT_TRUE(Eventually([&] { return !feed_->Listening(); }));
  EXPECT_FALSE(cache_.Known(Cluster(0)));
  ASSERT_TRUE(admin->Exec("ALTER ROLE ams CONNECTION LIMIT -1").ok());
  EXPECT_TRUE(Eventually([&] { return feed_->Listening() && cache_.Known(Cluster(0)); }));
}

TEST_F(LeaseRowFeedTest, ARenewOnlyChangeDoesNotFireOnChangeButAHolderChangeDoes) {
  const LeaseKey key{Cluster(0), kAmsServiceName};
  StartFeed({Cluster(0)});
  // The controller's own writes: put by the caching store; their NOTIFY
  // brings the same row and fires nothing.
  auto acquired = caching_->Acquire(key, Holder("a"), seconds(30));
  ASSERT_TRUE(acquired.ok());
  auto renewed = caching_->Renew(key, "a:1261:a", acquired->version, seconds(30));
  ASSERT_TRUE(renewed.ok());
  // Another writer's renewal that does notify (RenewWithInfo, info unchanged
  // here is silent; a payload that only moves version and expiry):
  LeaseRecord moved = *renewed;
  moved.version += 1;
  moved.lease_expire_ts_ms = *moved.lease_expire_ts_ms + 5000;
  moved.updated_at_ms += 5000;
  auto admin = PostgresEnvironment::Admin();
  // The table moves the same way (silently), then the payload arrives.
  ASSERT_TRUE(
      admin
          ->Exec("UPDATE ha_lease SET version = $2::int, lease_expire_ts = $3::bigint,"
                 " updated_at = $4::bigint WHERE cluster_name = $1 AND service_name = 'AMS'",
                 {Cluster(0), std::to_string(moved.version),
                  std::to_string(*moved.lease_expire_ts_ms), std::to_string(moved.updated_at_ms)})
          .ok());
  ASSERT_TRUE(
      admin->Exec("SELECT pg_notify('ams_ha_lease', $1)", {LeaseNotificationPayload(moved)}).ok());
  ASSERT_TRUE(Eventually([&] {
    auto got = cache_.Get(key);
    return got.known && got.row && got.row->version == moved.version;
  }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(ChangesOf(Cluster(0)), 0);
  // Another controller or the CLI hands it over: that fires.
  auto other = NewStore();
  auto row = other->Read(key);
  ASSERT_TRUE(row.ok() && row->has_value());
  ASSERT_TRUE(other->HandOver(key, "a:1261:a", (*row)->version, Holder("b"), seconds(30)).ok());
  EXPECT_TRUE(Eventually([&] { return ChangesOf(Cluster(0)) >= 1; }));
  EXPECT_EQ(*cache_.Get(key).row->node_id, "b:1261:b");
}

TEST_F(LeaseRowFeedTest, APoolOfThreeServesEightThreadsOnAtMostThreeBackends) {
  LeaseStorePool pool(
      []() -> StatusOr<std::unique_ptr<SqlLeaseStore>> {
        auto store = PostgresLeaseStore::Create(Named("pool3"));
        if (!store.ok()) return store.status();
        return std::unique_ptr<SqlLeaseStore>(std::move(store).value());
      },
      3);
  EXPECT_EQ(Backends("pool3"), 0) << "an unused pool opens no connection";
  std::atomic<bool> stop{false};
  std::atomic<int> most{0};
  std::thread monitor([&] {
    while (!stop) {
      most = std::max(most.load(), Backends("pool3"));
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const LeaseKey key{Cluster(t), kAmsServiceName};
      auto acquired = pool.Shared()->Acquire(key, Holder("t" + std::to_string(t)), seconds(30));
      if (!acquired.ok()) ++failures;
      int32_t version = acquired.ok() ? acquired->version : 0;
      for (int i = 0; i < 50; ++i) {
        auto renewed = pool.Shared()->Renew(
            key, "t" + std::to_string(t) + ":1261:t" + std::to_string(t), version, seconds(30));
        if (!renewed.ok()) {
          ++failures;
          break;
        }
        version = renewed->version;
      }
    });
  }
  for (auto& t : threads) t.join();
  stop = true;
  monitor.join();
  EXPECT_EQ(failures, 0);
  EXPECT_LE(most, 3);
  EXPECT_GE(most, 1);
  EXPECT_LE(pool.OpenConnections(), 3);
  pool.CloseIdle();
  EXPECT_TRUE(Eventually([] { return Backends("pool3") == 0; })) << "a standby holds none";
}

TEST_F(LeaseRowFeedTest, AStoppedFeedHoldsNoConnection) {
  StartFeed({Cluster(0)}, "stopfeed");
  EXPECT_EQ(Backends("stopfeed-listen"), 1);
  auto start = std::chrono::steady_clock::now();
  feed_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(1));
  pool_->CloseIdle();
  EXPECT_TRUE(Eventually([] { return Backends("stopfeed-listen") + Backends("stopfeed") == 0; }));
  EXPECT_FALSE(cache_.Known(Cluster(0)));
}

}  // namespace
}  // namespace amsha
