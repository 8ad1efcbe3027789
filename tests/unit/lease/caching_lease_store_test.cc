#include "lease/caching_lease_store.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/clock.h"
#include "support/fake_lease_store.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using testing::FakeLeaseStore;

constexpr milliseconds kTtl{30000};

class CachingLeaseStoreTest : public ::testing::Test {
 protected:
  // What the feed does: a batched read that makes the cluster known.
  void FeedReads(const std::string& cluster) {
    const MonoTime sent = clock_.Now();
    auto rows = db_.ReadClusters({cluster});
    ASSERT_TRUE(rows.ok());
    cache_.PutClusters({cluster}, *rows, sent, true);
    db_.ClearCalls();
  }

  FakeClock clock_;
  FakeLeaseStore db_{&clock_};
  LeaseRowCache cache_{&clock_};
  CachingLeaseStore store_{&db_, &cache_, &clock_};
  const LeaseKey key_{"prod", kAmsServiceName};
  const LeaseHolder a_{"a:1261:uuid", "10.0.0.1", "{}"};
  const LeaseHolder b_{"b:1261:uuid", "10.0.0.2", "{}"};
};

TEST_F(CachingLeaseStoreTest, ReadsOfAKnownClusterAreServedWithoutAStatement) {
  db_.Put(key_, a_, kTtl);
  FeedReads("prod");
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(milliseconds(1000));
    auto read = store_.Read(key_);
    ASSERT_TRUE(read.ok() && read->has_value());
    EXPECT_EQ(*(*read)->node_id, a_.node_id);
    EXPECT_EQ((*read)->db_now_ms, db_.DbNowMs());  // projected on the local clock
  }
  auto gate = store_.Read({"prod", "AMS_GATE"});
  ASSERT_TRUE(gate.ok());
  EXPECT_FALSE(gate->has_value());
  EXPECT_EQ(db_.CountCalls("Read"), 0);
}

TEST_F(CachingLeaseStoreTest, WithoutTheFeedEveryReadGoesToTheDatabase) {
  db_.Put(key_, a_, kTtl);
  ASSERT_TRUE(store_.Read(key_).ok());
  ASSERT_TRUE(store_.Read(key_).ok());
  EXPECT_EQ(db_.CountCalls("Read"), 2);
}

TEST_F(CachingLeaseStoreTest, ARenewPutsItsRowSoTheNextStepReadsNothing) {
  FeedReads("prod");
  auto acquired = store_.Acquire(key_, a_, kTtl);
  ASSERT_TRUE(acquired.ok());
  auto renewed = store_.Renew(key_, a_.node_id, acquired->version, kTtl);
  ASSERT_TRUE(renewed.ok());
  auto read = store_.Read(key_);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->version, renewed->version);
  EXPECT_EQ(db_.CountCalls("Read"), 0);
}

TEST_F(CachingLeaseStoreTest, AConflictMakesTheNextReadGoToTheDatabase) {
  db_.Put(key_, a_, kTtl);
  FeedReads("prod");
  auto cached = store_.Read(key_);
  ASSERT_TRUE(cached.ok() && cached->has_value());
  // Another writer moves the row without the cache hearing of it.
  db_.Put(key_, b_, kTtl);
  auto renew = store_.Renew(key_, a_.node_id, (*cached)->version, kTtl);
  EXPECT_TRUE(renew.status().IsConflict());
  auto read = store_.Read(key_);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ(*(*read)->node_id, b_.node_id);
  EXPECT_EQ(db_.CountCalls("Read"), 1);
  ASSERT_TRUE(store_.Read(key_).ok());
  EXPECT_EQ(db_.CountCalls("Read"), 1);  // cached again
}

TEST_F(CachingLeaseStoreTest, AnUnavailableWriteMakesTheKeyUnknown) {
  FeedReads("prod");
  auto acquired = store_.Acquire(key_, a_, kTtl);
  ASSERT_TRUE(acquired.ok());
  db_.FailNext(1, UnavailableError("down"));
  EXPECT_TRUE(store_.Renew(key_, a_.node_id, acquired->version, kTtl).status().IsUnavailable());
  ASSERT_TRUE(store_.Read(key_).ok());
  EXPECT_EQ(db_.CountCalls("Read"), 1);
}

TEST_F(CachingLeaseStoreTest, ReleaseAndPublishMakeTheirKeysUnknown) {
  FeedReads("prod");
  auto acquired = store_.Acquire(key_, a_, kTtl);
  ASSERT_TRUE(acquired.ok());
  ASSERT_TRUE(store_.PublishServiceInfo("prod", a_.node_id, acquired->version, a_, a_).ok());
  ASSERT_TRUE(store_.Read({"prod", kTableServiceName}).ok());
  EXPECT_EQ(db_.CountCalls("Read"), 1);
  ASSERT_TRUE(store_.Release(key_, a_.node_id, acquired->version).ok());
  auto read = store_.Read(key_);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_TRUE((*read)->Expired());
  EXPECT_EQ(db_.CountCalls("Read"), 2);
}

TEST_F(CachingLeaseStoreTest, ReadClustersPassesThroughAndFillsTheCacheWithoutMakingItKnown) {
  db_.Put(key_, a_, kTtl);
  auto rows = store_.ReadClusters({"prod"});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ(db_.CountCalls("ReadClusters"), 1);
  EXPECT_FALSE(cache_.Known("prod"));
}

}  // namespace
}  // namespace amsha
