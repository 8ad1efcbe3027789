#include "lease/lease_store_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace amsha {
namespace {

using std::chrono::milliseconds;

// Counts engines alive and calls in flight; every read sleeps a little so
// that threads overlap.
struct Counters {
  std::atomic<bool> down{false};  // every read fails kUnavailable, as with no server
  std::atomic<int> reads{0};
  std::atomic<int> alive{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::atomic<int> opened{0};
};

class CountingEngine : public SqlLeaseEngine {
 public:
  explicit CountingEngine(Counters* c) : c_(c) { ++c_->alive; }
  ~CountingEngine() override { --c_->alive; }

  StatusOr<std::optional<LeaseRecord>> ReadRow(const LeaseKey&) override {
    ++c_->reads;
    if (c_->down) return UnavailableError("cannot connect to the database: connection refused");
    int now = ++c_->in_flight;
    int seen = c_->max_in_flight;
    while (now > seen && !c_->max_in_flight.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(milliseconds(2));
    --c_->in_flight;
    return std::optional<LeaseRecord>();
  }
  StatusOr<std::vector<LeaseRecord>> ReadClusterRows(const std::vector<std::string>&) override {
    return std::vector<LeaseRecord>();
  }
  StatusOr<std::optional<LeaseRecord>> AcquireRow(const LeaseKey&, const LeaseHolder&,
                                                  int64_t) override {
    return std::optional<LeaseRecord>();
  }
  StatusOr<std::optional<LeaseRecord>> RenewRow(const LeaseKey&, const std::string&, int32_t,
                                                int64_t, const std::string*) override {
    return std::optional<LeaseRecord>();
  }
  StatusOr<std::optional<LeaseRecord>> HandOverRow(const LeaseKey&, const std::string&, int32_t,
                                                   const LeaseHolder&, int64_t) override {
    return std::optional<LeaseRecord>();
  }
  StatusOr<bool> ReleaseRow(const LeaseKey&, const std::string&, int32_t) override { return false; }
  StatusOr<bool> PublishRows(const std::string&, const std::string&, int32_t, const LeaseHolder&,
                             const LeaseHolder&) override {
    return false;
  }
  Status ApplySchema() override { return Status::Ok(); }
  void Disconnect() override {}

 private:
  Counters* c_;
};

class CountingStore : public SqlLeaseStore {
 public:
  explicit CountingStore(Counters* c) : SqlLeaseStore(std::make_unique<CountingEngine>(c)) {}
};

LeaseStorePool::Factory FactoryOf(Counters* c) {
  return [c]() -> StatusOr<std::unique_ptr<SqlLeaseStore>> {
    ++c->opened;
    return std::unique_ptr<SqlLeaseStore>(std::make_unique<CountingStore>(c));
  };
}

TEST(LeaseStorePoolTest, AnUnusedPoolOpensNoStore) {
  Counters c;
  LeaseStorePool pool(FactoryOf(&c), 4);
  EXPECT_EQ(pool.OpenConnections(), 0);
  EXPECT_EQ(c.opened, 0);
}

TEST(LeaseStorePoolTest, ManyThreadsShareAtMostMaxConnectionsStores) {
  Counters c;
  LeaseStorePool pool(FactoryOf(&c), 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto read = pool.Shared()->Read({"c" + std::to_string(i), kAmsServiceName});
        EXPECT_TRUE(read.ok());
        EXPECT_LE(pool.OpenConnections(), 3);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(c.opened, 3);
  EXPECT_LE(c.max_in_flight, 3);
  EXPECT_GE(c.max_in_flight, 2);  // they did run side by side
  EXPECT_EQ(pool.OpenConnections(), c.alive);
}

TEST(LeaseStorePoolTest, OneThreadReusesOneStore) {
  Counters c;
  LeaseStorePool pool(FactoryOf(&c), 4);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.Shared()->Read({"c", kAmsServiceName}).ok());
  EXPECT_EQ(c.opened, 1);
}

TEST(LeaseStorePoolTest, CloseIdleDropsTheStoresAndTheNextCallOpensOneAgain) {
  Counters c;
  LeaseStorePool pool(FactoryOf(&c), 2);
  ASSERT_TRUE(pool.Shared()->Read({"c", kAmsServiceName}).ok());
  EXPECT_EQ(pool.OpenConnections(), 1);
  pool.CloseIdle();
  EXPECT_EQ(pool.OpenConnections(), 0);
  EXPECT_EQ(c.alive, 0);
  ASSERT_TRUE(pool.Shared()->Read({"c", kAmsServiceName}).ok());
  EXPECT_EQ(pool.OpenConnections(), 1);
}

TEST(LeaseStorePoolTest, AFactoryErrorIsTheCallsErrorAndFreesTheSlot) {
  int calls = 0;
  LeaseStorePool pool(
      [&calls]() -> StatusOr<std::unique_ptr<SqlLeaseStore>> {
        ++calls;
        return InvalidArgumentError("bad url");
      },
      1);
  auto read = pool.Shared()->Read({"c", kAmsServiceName});
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  auto again = pool.Shared()->Read({"c", kAmsServiceName});  // does not block
  EXPECT_EQ(again.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(pool.OpenConnections(), 0);
}

TEST(LeaseStorePoolTest, WhileTheDatabaseIsDownCallsFailAtOnceInsteadOfEachWaitingItOut) {
  Counters c;
  LeaseStorePool pool(FactoryOf(&c), 2);
  c.down = true;
  auto first = pool.Shared()->Read({"c", kAmsServiceName});
  EXPECT_TRUE(first.status().IsUnavailable());
  EXPECT_EQ(c.reads, 1);
  // A hundred clusters' passes right after: none reaches the database.
  for (int i = 0; i < 100; ++i) {
    auto read = pool.Shared()->Read({"c" + std::to_string(i), kAmsServiceName});
    ASSERT_TRUE(read.status().IsUnavailable());
    EXPECT_NE(read.status().message().find("connection refused"), std::string::npos)
        << "names the cause: " << read.status().message();
  }
  EXPECT_EQ(c.reads, 1);
  // After the first wait one call tries again; the database is back.
  std::this_thread::sleep_for(LeaseStorePool::kFirstFailFast + milliseconds(50));
  c.down = false;
  EXPECT_TRUE(pool.Shared()->Read({"c", kAmsServiceName}).ok());
  EXPECT_TRUE(pool.Shared()->Read({"c", kAmsServiceName}).ok()) << "an answer ends it";
  EXPECT_EQ(c.reads, 3);
}

TEST(LeaseStorePoolTest, ANonTransientErrorDoesNotMakeCallsFailAtOnce) {
  Counters c;
  LeaseStorePool pool(FactoryOf(&c), 1);
  auto acquired =
      pool.Shared()->Acquire({"c", kAmsServiceName}, {"n", "ip", ""}, milliseconds(1000));
  EXPECT_TRUE(acquired.status().IsConflict()) << acquired.status().ToString();
  EXPECT_TRUE(pool.Shared()->Read({"c", kAmsServiceName}).ok());
}

}  // namespace
}  // namespace amsha
