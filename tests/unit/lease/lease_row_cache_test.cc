#include "lease/lease_row_cache.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/clock.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;

LeaseRecord Row(const std::string& cluster, const std::string& service, const std::string& node,
                int32_t version, int64_t db_now, int64_t ttl_ms = 10000) {
  LeaseRecord r;
  r.key = {cluster, service};
  r.node_id = node;
  r.node_ip = "10.0.0.1";
  r.server_info_json = "{}";
  r.lease_expire_ts_ms = db_now + ttl_ms;
  r.version = version;
  r.updated_at_ms = db_now;
  r.db_now_ms = db_now;
  return r;
}

class LeaseRowCacheTest : public ::testing::Test {
 protected:
  // A cluster the cache serves: an (empty) batched read of it applied.
  void Know(const std::string& cluster) {
    cache_.PutClusters({cluster}, {}, clock_.Now(), /*mark_known=*/true);
  }
  FakeClock clock_;
  LeaseRowCache cache_{&clock_};
  const LeaseKey key_{"prod", kAmsServiceName};
};

TEST_F(LeaseRowCacheTest, NothingIsKnownOfAClusterNeverReadInABatch) {
  cache_.Put(Row("prod", kAmsServiceName, "a", 1, 1000));
  EXPECT_FALSE(cache_.Get(key_).known);
  Know("prod");
  EXPECT_TRUE(cache_.Get(key_).known);
}

TEST_F(LeaseRowCacheTest, AKnownClusterWithoutTheRowAnswersAbsent) {
  Know("prod");
  LeaseRowCache::Cached got = cache_.Get(key_);
  EXPECT_TRUE(got.known);
  EXPECT_FALSE(got.row.has_value());
}

TEST_F(LeaseRowCacheTest, GetProjectsTheDatabaseClockBySinceTheRowWasPut) {
  Know("prod");
  cache_.Put(Row("prod", kAmsServiceName, "a", 1, 1000, 10000));
  clock_.Advance(milliseconds(4000));
  LeaseRowCache::Cached got = cache_.Get(key_);
  ASSERT_TRUE(got.known && got.row);
  EXPECT_EQ(got.row->db_now_ms, 5000);
  EXPECT_EQ(got.row->ExpiresInMs(), 6000);
  EXPECT_FALSE(got.row->Expired());
}

TEST_F(LeaseRowCacheTest, ALiveRowPastItsCachedExpiryIsUnknownSinceItMayHaveBeenRenewedSilently) {
  Know("prod");
  cache_.Put(Row("prod", kAmsServiceName, "a", 1, 1000, 10000));
  clock_.Advance(milliseconds(10000));
  EXPECT_FALSE(cache_.Get(key_).known);
}

TEST_F(LeaseRowCacheTest, ARowTheDatabaseSawExpiredStaysKnownAndExpired) {
  Know("prod");
  cache_.Put(Row("prod", kAmsServiceName, "a", 1, 1000, 0));
  clock_.Advance(milliseconds(60000));
  LeaseRowCache::Cached got = cache_.Get(key_);
  ASSERT_TRUE(got.known && got.row);
  EXPECT_TRUE(got.row->Expired());
}

TEST_F(LeaseRowCacheTest, PutIgnoresALowerVersionAndAnOlderUpdateOfTheSameVersion) {
  Know("prod");
  EXPECT_EQ(cache_.Put(Row("prod", kAmsServiceName, "a", 5, 1000)),
            LeaseRowCache::PutResult::kChanged);
  EXPECT_EQ(cache_.Put(Row("prod", kAmsServiceName, "b", 4, 2000)),
            LeaseRowCache::PutResult::kStale);
  EXPECT_EQ(cache_.Put(Row("prod", kAmsServiceName, "b", 5, 900)),
            LeaseRowCache::PutResult::kStale);
  EXPECT_EQ(*cache_.Get(key_).row->node_id, "a");
}

TEST_F(LeaseRowCacheTest, TheSameRowAgainIsSameAndARenewalIsNotAChange) {
  Know("prod");
  cache_.Put(Row("prod", kAmsServiceName, "a", 5, 1000));
  EXPECT_EQ(cache_.Put(Row("prod", kAmsServiceName, "a", 5, 1000)),
            LeaseRowCache::PutResult::kSame);
  EXPECT_EQ(cache_.Put(Row("prod", kAmsServiceName, "a", 6, 3000)),
            LeaseRowCache::PutResult::kRenewed);
  EXPECT_EQ(cache_.Put(Row("prod", kAmsServiceName, "b", 7, 4000)),
            LeaseRowCache::PutResult::kChanged);
}

TEST_F(LeaseRowCacheTest, InvalidateKeyMakesOnlyThatKeyUnknown) {
  Know("prod");
  cache_.Put(Row("prod", kAmsServiceName, "a", 1, 1000));
  cache_.Put(Row("prod", "AMS_GATE", "g", 1, 1000));
  cache_.InvalidateKey(key_);
  EXPECT_FALSE(cache_.Get(key_).known);
  EXPECT_TRUE(cache_.Get({"prod", "AMS_GATE"}).known);
  cache_.Put(Row("prod", kAmsServiceName, "a", 2, 2000));
  EXPECT_TRUE(cache_.Get(key_).known);
}

TEST_F(LeaseRowCacheTest, InvalidateAndInvalidateAllStopServingUntilTheNextBatchedRead) {
  Know("prod");
  Know("test");
  cache_.Invalidate("prod");
  EXPECT_FALSE(cache_.Known("prod"));
  EXPECT_TRUE(cache_.Known("test"));
  cache_.InvalidateAll();
  EXPECT_FALSE(cache_.Known("test"));
  Know("prod");
  EXPECT_TRUE(cache_.Known("prod"));
}

TEST_F(LeaseRowCacheTest, ABatchedReadDoesNotOverwriteWhatWasPutAfterItWasSent) {
  Know("prod");
  const MonoTime sent = clock_.Now();
  clock_.Advance(milliseconds(5));
  cache_.Put(Row("prod", kAmsServiceName, "b", 8, 2000));  // a notification, meanwhile
  // The read saw the older row, and no gate row that was put meanwhile.
  cache_.Put(Row("prod", "AMS_GATE", "g", 1, 2000));
  cache_.PutClusters({"prod"}, {Row("prod", kAmsServiceName, "a", 7, 1990)}, sent, true);
  EXPECT_EQ(*cache_.Get(key_).row->node_id, "b");
  EXPECT_TRUE(cache_.Get({"prod", "AMS_GATE"}).row.has_value());
}

TEST_F(LeaseRowCacheTest, ABatchedReadRemovesRowsThatAreGoneAndReportsTheChangedClusters) {
  cache_.PutClusters(
      {"prod", "test"},
      {Row("prod", kAmsServiceName, "a", 1, 1000), Row("test", kAmsServiceName, "x", 1, 1000)},
      clock_.Now(), true);
  clock_.Advance(milliseconds(10));
  std::vector<std::string> changed = cache_.PutClusters(
      {"prod", "test"}, {Row("test", kAmsServiceName, "x", 2, 2000)}, clock_.Now(), true);
  EXPECT_EQ(changed, std::vector<std::string>{"prod"});  // test only renewed
  LeaseRowCache::Cached got = cache_.Get(key_);
  EXPECT_TRUE(got.known);
  EXPECT_FALSE(got.row.has_value());
}

TEST_F(LeaseRowCacheTest, AReadThroughThatFoundNothingIsAbsentUnlessSomethingNewerCame) {
  Know("prod");
  const MonoTime sent = clock_.Now();
  cache_.PutAbsent(key_, sent);
  EXPECT_TRUE(cache_.Get(key_).known);
  EXPECT_FALSE(cache_.Get(key_).row.has_value());
  clock_.Advance(milliseconds(1));
  cache_.Put(Row("prod", kAmsServiceName, "a", 1, 1000));
  cache_.PutAbsent(key_, sent);  // a slow read, sent before the put
  EXPECT_TRUE(cache_.Get(key_).row.has_value());
}

TEST_F(LeaseRowCacheTest, ClustersToRefreshNamesHeldRowsNearTheirCachedExpiryAndUnknownKeys) {
  cache_.PutClusters(
      {"a", "b", "c"},
      {Row("a", "AMS_GATE", "g", 1, 1000, 8000), Row("b", kAmsServiceName, "x", 1, 1000, 30000)},
      clock_.Now(), true);
  cache_.InvalidateKey({"c", kAmsServiceName});
  clock_.Advance(milliseconds(6500));
  EXPECT_EQ(cache_.ClustersToRefresh(milliseconds(2000)), (std::vector<std::string>{"a", "c"}));
}

TEST_F(LeaseRowCacheTest, ARowJustReadIsNotDueAgainAtOnceEvenNearItsExpiry) {
  Know("a");
  cache_.Put(Row("a", "AMS_GATE", "g", 1, 1000, 1500));  // its holder stopped renewing
  EXPECT_TRUE(cache_.ClustersToRefresh(milliseconds(2000)).empty());
  clock_.Advance(milliseconds(500));
  EXPECT_EQ(cache_.ClustersToRefresh(milliseconds(2000)), std::vector<std::string>{"a"});
}

TEST(RowChangeMattersTest, HolderInfoPresenceAndExpiryMatterButARenewalDoesNot) {
  LeaseRecord a = Row("prod", kAmsServiceName, "a", 1, 1000);
  LeaseRecord renewed = Row("prod", kAmsServiceName, "a", 2, 2000);
  EXPECT_FALSE(RowChangeMatters(a, renewed));
  LeaseRecord other = renewed;
  other.node_id = "b";
  EXPECT_TRUE(RowChangeMatters(a, other));
  LeaseRecord info = renewed;
  info.server_info_json = R"({"ams":"serving"})";
  EXPECT_TRUE(RowChangeMatters(a, info));
  LeaseRecord released = renewed;
  released.lease_expire_ts_ms = released.db_now_ms;
  EXPECT_TRUE(RowChangeMatters(a, released));
  EXPECT_TRUE(RowChangeMatters(std::nullopt, a));
  EXPECT_TRUE(RowChangeMatters(a, std::nullopt));
}

TEST(RowChangeMattersTest, AnyChangeOfASwitchoverRowMatters) {
  LeaseRecord a = Row("prod", kSwitchoverServiceName, "cli", 1, 1000);
  LeaseRecord b = Row("prod", kSwitchoverServiceName, "cli", 2, 2000);
  EXPECT_TRUE(RowChangeMatters(a, b));
  EXPECT_FALSE(RowChangeMatters(a, a));
}

}  // namespace
}  // namespace amsha
