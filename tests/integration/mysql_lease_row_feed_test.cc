// LeaseRowFeed on MariaDB, which has no LISTEN/NOTIFY: every cluster is
// polled with one batched ReadClusters per poll interval over a
// LeaseStorePool, and a change by another writer reaches the cache and
// on_change within that interval.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "lease/caching_lease_store.h"
#include "lease/lease_row_feed.h"
#include "lease/lease_store_pool.h"
#include "lease/mysql_lease_store.h"
#include "support/mariadb_environment.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using testing::MariaDbEnvironment;

const auto* const kMaria = ::testing::AddGlobalTestEnvironment(new MariaDbEnvironment);

StatusOr<std::unique_ptr<SqlLeaseStore>> OpenStore() {
  auto store = MysqlLeaseStore::Create(MariaDbEnvironment::server().StoreOptions());
  if (!store.ok()) return store.status();
  return std::unique_ptr<SqlLeaseStore>(std::move(store).value());
}

bool Eventually(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

TEST(MysqlLeaseRowFeedTest, EveryClusterIsPolledInBatchesAndChangesReachTheCache) {
  auto schema = OpenStore();
  ASSERT_TRUE(schema.ok());
  ASSERT_TRUE((*schema)->ApplySchema().ok());
  std::vector<std::string> clusters;
  for (int i = 0; i < 50; ++i) clusters.push_back("polled-" + std::to_string(i));
  const LeaseKey key{clusters[7], kAmsServiceName};
  ASSERT_TRUE((*schema)->Acquire(key, {"a:1261:a", "10.0.0.1", "{}"}, milliseconds(30000)).ok());

  LeaseStorePool pool(OpenStore, 2);
  LeaseRowCache cache(RealClock::Get());
  CachingLeaseStore caching(pool.Shared(), &cache, RealClock::Get());
  std::mutex mu;
  std::vector<std::string> changes;
  LeaseRowFeedOptions options;
  options.poll_interval = milliseconds(300);
  options.tick = milliseconds(20);
  LeaseRowFeed feed(&cache, pool.Shared(), nullptr, RealClock::Get(), options,
                    [&](const std::string& c) {
                      std::lock_guard<std::mutex> lock(mu);
                      changes.push_back(c);
                    });
  std::vector<FeedCluster> tracked;
  for (const std::string& c : clusters) tracked.push_back({c, false});
  feed.SetClusters(tracked);
  ASSERT_TRUE(feed.Start().ok());
  ASSERT_TRUE(Eventually([&] { return cache.Known(clusters.back()); }));
  EXPECT_FALSE(feed.Listening());
  EXPECT_LE(pool.OpenConnections(), 2);

  // Reads are served from memory.
  auto read = caching.Read(key);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(*(*read)->node_id, "a:1261:a");

  // Another writer moves the lease: the next poll brings it.
  {
    std::lock_guard<std::mutex> lock(mu);
    changes.clear();
  }
  ASSERT_TRUE((*schema)
                  ->HandOver(key, "a:1261:a", (*read)->version, {"b:1261:b", "10.0.0.2", "{}"},
                             milliseconds(30000))
                  .ok());
  EXPECT_TRUE(Eventually([&] {
    auto got = cache.Get(key);
    return got.known && got.row && got.row->node_id == "b:1261:b";
  }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(changes, std::vector<std::string>{clusters[7]});
}

}  // namespace
}  // namespace amsha
