#include "lease/lease_row_feed.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/clock.h"
#include "lease/lease_notification.h"
#include "support/fake_lease_store.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using testing::FakeLeaseStore;

constexpr milliseconds kTtl{30000};

// A listener the test drives: it exposes the feed's callbacks.
class FakeListener : public LeaseListener {
 public:
  explicit FakeListener(Callbacks callbacks) : callbacks(std::move(callbacks)) {}
  bool Listening() const override { return true; }
  void DropConnection() override {}
  Callbacks callbacks;
};

class LeaseRowFeedTest : public ::testing::Test {
 protected:
  LeaseRowFeedTest() {
    options_.tick = milliseconds(5);
    options_.poll_interval = milliseconds(1000);
    options_.resync_period = milliseconds(60000);
  }

  void Make(bool with_listener) {
    LeaseRowFeed::ListenerFactory factory;
    if (with_listener) {
      factory =
          [this](LeaseListener::Callbacks callbacks) -> StatusOr<std::unique_ptr<LeaseListener>> {
        auto listener = std::make_unique<FakeListener>(std::move(callbacks));
        listener_ = listener.get();
        return std::unique_ptr<LeaseListener>(std::move(listener));
      };
    }
    feed_ = std::make_unique<LeaseRowFeed>(&cache_, &db_, factory, &clock_, options_,
                                           [this](const std::string& cluster) {
                                             std::lock_guard<std::mutex> lock(mu_);
                                             changed_.insert(cluster);
                                           });
  }

  // Polls (real time) until `done` holds, for up to 5 s.
  bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 1000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return done();
  }

  bool Changed(const std::string& cluster) {
    std::lock_guard<std::mutex> lock(mu_);
    return changed_.count(cluster) > 0;
  }
  void ClearChanged() {
    std::lock_guard<std::mutex> lock(mu_);
    changed_.clear();
  }

  FakeClock clock_;
  FakeLeaseStore db_{&clock_};
  LeaseRowCache cache_{&clock_};
  LeaseRowFeedOptions options_;
  FakeListener* listener_ = nullptr;
  std::unique_ptr<LeaseRowFeed> feed_;
  std::mutex mu_;
  std::set<std::string> changed_;
  const LeaseHolder a_{"a:1261:uuid", "10.0.0.1", "{}"};
  const LeaseHolder b_{"b:1261:uuid", "10.0.0.2", "{}"};
};

TEST_F(LeaseRowFeedTest, NotifiedClustersAreKnownOnlyOnceListening) {
  Make(true);
  feed_->SetClusters({{"prod", false}});
  ASSERT_TRUE(feed_->Start().ok());
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(cache_.Known("prod"));
  listener_->callbacks.on_listening();
  EXPECT_TRUE(Eventually([&] { return cache_.Known("prod"); }));
  EXPECT_TRUE(feed_->Listening());
}

TEST_F(LeaseRowFeedTest, LosingTheListenerMakesNotifiedClustersUnknownAndPolledOnesStay) {
  Make(true);
  feed_->SetClusters({{"prod", false}, {"amoro", true}});
  ASSERT_TRUE(feed_->Start().ok());
  listener_->callbacks.on_listening();
  ASSERT_TRUE(Eventually([&] { return cache_.Known("prod") && cache_.Known("amoro"); }));
  listener_->callbacks.on_lost("cut");
  EXPECT_FALSE(feed_->Listening());
  EXPECT_FALSE(cache_.Known("prod"));
  EXPECT_TRUE(cache_.Known("amoro"));
  listener_->callbacks.on_listening();  // again: resync
  EXPECT_TRUE(Eventually([&] { return cache_.Known("prod"); }));
}

TEST_F(LeaseRowFeedTest, ARowPayloadIsPutAndAHolderChangeFiresButARenewalDoesNot) {
  Make(true);
  db_.Put({"prod", kAmsServiceName}, a_, kTtl);
  feed_->SetClusters({{"prod", false}});
  ASSERT_TRUE(feed_->Start().ok());
  listener_->callbacks.on_listening();
  ASSERT_TRUE(Eventually([&] { return cache_.Known("prod"); }));
  ClearChanged();
  LeaseRecord row = *db_.Row({"prod", kAmsServiceName});
  row.version += 1;
  row.lease_expire_ts_ms = *row.lease_expire_ts_ms + 1000;
  row.updated_at_ms += 1000;
  listener_->callbacks.on_notification(LeaseNotificationPayload(row));
  EXPECT_EQ(cache_.Get({"prod", kAmsServiceName}).row->version, row.version);
  EXPECT_FALSE(Changed("prod"));
  row.version += 1;
  row.node_id = b_.node_id;
  listener_->callbacks.on_notification(LeaseNotificationPayload(row));
  EXPECT_TRUE(Changed("prod"));
}

TEST_F(LeaseRowFeedTest, TheNotificationOfOurOwnWriteInFlightFiresNothing) {
  Make(true);
  db_.Put({"prod", kAmsServiceName}, a_, kTtl);
  feed_->SetClusters({{"prod", false}});
  ASSERT_TRUE(feed_->Start().ok());
  listener_->callbacks.on_listening();
  ASSERT_TRUE(Eventually([&] { return cache_.Known("prod"); }));
  ClearChanged();
  // Our hand-over commits and its NOTIFY overtakes the store's return.
  LeaseRecord row = *db_.Row({"prod", kAmsServiceName});
  row.version += 1;
  row.node_id = b_.node_id;
  cache_.BeginWrite(row.key);
  listener_->callbacks.on_notification(LeaseNotificationPayload(row));
  cache_.EndWrite(row.key);
  EXPECT_EQ(cache_.Get(row.key).row->node_id, b_.node_id);
  EXPECT_FALSE(Changed("prod"));
}

TEST_F(LeaseRowFeedTest, ABareNamePayloadMakesTheClusterReadAgainAtOnce) {
  Make(true);
  feed_->SetClusters({{"prod", false}});
  ASSERT_TRUE(feed_->Start().ok());
  listener_->callbacks.on_listening();
  ASSERT_TRUE(Eventually([&] { return cache_.Known("prod"); }));
  ClearChanged();
  db_.Put({"prod", kAmsServiceName}, b_, kTtl);  // an older writer: no row in the payload
  listener_->callbacks.on_notification("prod");
  EXPECT_TRUE(Eventually([&] {
    auto got = cache_.Get({"prod", kAmsServiceName});
    return got.known && got.row && got.row->node_id == b_.node_id;
  }));
  EXPECT_TRUE(Changed("prod"));
}

TEST_F(LeaseRowFeedTest, WithoutAListenerEveryClusterIsPolledInOneStatementPerInterval) {
  Make(false);
  feed_->SetClusters({{"a", false}, {"b", false}, {"c", false}});
  ASSERT_TRUE(feed_->Start().ok());
  ASSERT_TRUE(Eventually([&] { return cache_.Known("a") && cache_.Known("c"); }));
  EXPECT_FALSE(feed_->Listening());
  db_.ClearCalls();
  db_.Put({"b", kAmsServiceName}, a_, kTtl);
  clock_.Advance(milliseconds(1000));
  EXPECT_TRUE(Eventually([&] { return Changed("b"); }));
  EXPECT_EQ(db_.CountCalls("ReadClusters"), 1);
  EXPECT_EQ(db_.CountCalls("Read"), 0);
}

TEST_F(LeaseRowFeedTest, ARowNearItsCachedExpiryIsReadAgainBeforeItBecomesUnknown) {
  Make(true);
  LeaseKey gate{"prod", "AMS_GATE"};
  db_.Put(gate, a_, milliseconds(8000));
  feed_->SetClusters({{"prod", false}});
  ASSERT_TRUE(feed_->Start().ok());
  listener_->callbacks.on_listening();
  ASSERT_TRUE(Eventually([&] { return cache_.Known("prod"); }));
  // The gate renews silently (no NOTIFY) every second.
  for (int i = 0; i < 7; ++i) {
    clock_.Advance(milliseconds(1000));
    auto row = *db_.Row(gate);
    ASSERT_TRUE(db_.Renew(gate, a_.node_id, row.version, milliseconds(8000)).ok());
  }
  // 7 s into an 8 s ttl: within refresh_ahead (2 s), so the feed re-reads.
  EXPECT_TRUE(Eventually([&] {
    auto got = cache_.Get(gate);
    return got.known && got.row && got.row->ExpiresInMs() > 7000;
  }));
}

TEST_F(LeaseRowFeedTest, StopMakesEverythingUnknownAndClosesTheListener) {
  Make(true);
  feed_->SetClusters({{"prod", false}});
  ASSERT_TRUE(feed_->Start().ok());
  listener_->callbacks.on_listening();
  ASSERT_TRUE(Eventually([&] { return cache_.Known("prod"); }));
  feed_->Stop();
  EXPECT_FALSE(feed_->Running());
  EXPECT_FALSE(feed_->Listening());
  EXPECT_FALSE(cache_.Known("prod"));
}

}  // namespace
}  // namespace amsha
