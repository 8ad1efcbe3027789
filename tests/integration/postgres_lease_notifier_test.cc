// PostgresLeaseNotifier and the NOTIFY sent by PostgresLeaseStore, against a
// real PostgreSQL: which writes notify (ownership changes) and which do not
// (renewals, failed conditions), that a waiter wakes within milliseconds of
// the commit instead of at its poll timeout, and that the listener survives
// its connection being cut.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "lease/postgres_lease_store.h"
#include "support/postgres_environment.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using testing::PostgresEnvironment;

const auto* const kPostgres = ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

// The poll interval a waiter would otherwise sleep: a wake-up must come
// long before it.
constexpr milliseconds kPoll{5000};

LeaseHolder Holder(const std::string& name) { return {name + ":1261:" + name, "10.0.0.1", "{}"}; }

class PostgresLeaseNotifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto store = PostgresLeaseStore::Create(PostgresEnvironment::server().StoreOptions());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->ApplySchema().ok());
  }

  void SetUp() override {
    cluster_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto store = PostgresLeaseStore::Create(PostgresEnvironment::server().StoreOptions());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    notifier_ = Listen(cluster_);
  }

  // A notifier that listens already, with the "may have missed changes"
  // wake-up of its first connection consumed.
  std::unique_ptr<PostgresLeaseNotifier> Listen(const std::string& cluster) {
    auto notifier =
        PostgresLeaseNotifier::Create(PostgresEnvironment::server().StoreOptions(), cluster);
    EXPECT_TRUE(notifier.ok()) << notifier.status().ToString();
    if (!notifier.ok()) return nullptr;
    EXPECT_TRUE((*notifier)->Wait(seconds(10))) << "connected and listening";
    EXPECT_TRUE((*notifier)->Listening());
    return std::move(notifier).value();
  }

  LeaseKey Key(const char* service = kAmsServiceName) const { return {cluster_, service}; }

  // Runs `write` 100 ms into a Wait(timeout) and returns how long after the
  // write was issued the Wait woke (negative: not woken by a change).
  double WakeAfterMs(const std::function<void()>& write, milliseconds timeout = kPoll) {
    Clock::time_point issued;
    std::thread writer([&] {
      std::this_thread::sleep_for(milliseconds(100));
      issued = Clock::now();
      write();
    });
    bool changed = notifier_->Wait(timeout);
    Clock::time_point woke = Clock::now();
    writer.join();
    if (!changed) return -1;
    return std::chrono::duration<double, std::milli>(woke - issued).count();
  }

  std::string cluster_;
  std::unique_ptr<PostgresLeaseStore> store_;
  std::unique_ptr<PostgresLeaseNotifier> notifier_;
};

TEST_F(PostgresLeaseNotifierTest, AHandOverWakesTheWaiterLongBeforeItsPollInterval) {
  ASSERT_TRUE(store_->Acquire(Key(), Holder("a"), seconds(30)).ok());
  notifier_->Wait(milliseconds(200));  // the acquire's own notification
  auto row = store_->Read(Key());
  double ms = WakeAfterMs([&] {
    ASSERT_TRUE(
        store_->HandOver(Key(), "a:1261:a", (*row)->version, Holder("b"), seconds(30)).ok());
  });
  ASSERT_GE(ms, 0) << "woken by the notification, not the timeout";
  std::printf("NOTIFY wake-up %.2f ms after the hand-over was issued (poll interval %lld ms)\n", ms,
              static_cast<long long>(kPoll.count()));
  EXPECT_LT(ms, 250.0);
}

TEST_F(PostgresLeaseNotifierTest, AcquireAndReleaseNotifyToo) {
  double acquired =
      WakeAfterMs([&] { ASSERT_TRUE(store_->Acquire(Key(), Holder("a"), seconds(30)).ok()); });
  EXPECT_GE(acquired, 0);
  auto row = store_->Read(Key());
  double released =
      WakeAfterMs([&] { ASSERT_TRUE(store_->Release(Key(), "a:1261:a", (*row)->version).ok()); });
  EXPECT_GE(released, 0);
  EXPECT_LT(std::max(acquired, released), 250.0);
}

TEST_F(PostgresLeaseNotifierTest, TheGateRowNotifiesLikeAnyOther) {
  double ms = WakeAfterMs(
      [&] { ASSERT_TRUE(store_->Acquire(Key("AMS_GATE"), Holder("a"), seconds(30)).ok()); });
  EXPECT_GE(ms, 0);
}

TEST_F(PostgresLeaseNotifierTest, RenewalsAndFailedWritesAreSilent) {
  auto acquired = store_->Acquire(Key(), Holder("a"), seconds(30));
  ASSERT_TRUE(acquired.ok());
  notifier_->Wait(milliseconds(500));  // consume the acquire
  ASSERT_TRUE(store_->Renew(Key(), "a:1261:a", acquired->version, seconds(30)).ok());
  EXPECT_TRUE(store_->Acquire(Key(), Holder("b"), seconds(30)).status().IsConflict());
  EXPECT_TRUE(store_->Release(Key(), "b:1261:b", 1).IsConflict());
  EXPECT_FALSE(notifier_->Wait(milliseconds(500)));
}

TEST_F(PostgresLeaseNotifierTest, RenewWithInfoNotifiesOnlyWhenTheInfoChanges) {
  auto acquired = store_->Acquire(Key("AMS_GATE"), Holder("a"), seconds(30));
  ASSERT_TRUE(acquired.ok());
  notifier_->Wait(milliseconds(500));  // consume the acquire
  auto same = store_->RenewWithInfo(Key("AMS_GATE"), "a:1261:a", acquired->version, seconds(30),
                                    acquired->server_info_json.value());
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(notifier_->Wait(milliseconds(500))) << "a renewal with the same info is silent";
  double ms = WakeAfterMs([&] {
    ASSERT_TRUE(store_
                    ->RenewWithInfo(Key("AMS_GATE"), "a:1261:a", same->version, seconds(30),
                                    R"({"ams":"serving"})")
                    .ok());
  });
  EXPECT_GE(ms, 0) << "a new state is heard at once";
}

TEST_F(PostgresLeaseNotifierTest, TheBareClusterNamePayloadOfAnOlderWriterStillWakesTheWaiter) {
  auto admin = PostgresEnvironment::Admin();
  double ms = WakeAfterMs(
      [&] { ASSERT_TRUE(admin->Exec("SELECT pg_notify('ams_ha_lease', $1)", {cluster_}).ok()); });
  EXPECT_GE(ms, 0);
}

TEST_F(PostgresLeaseNotifierTest, ChangesOfAnotherClusterAreIgnored) {
  LeaseKey other{cluster_ + "-other", kAmsServiceName};
  double ms =
      WakeAfterMs([&] { ASSERT_TRUE(store_->Acquire(other, Holder("a"), seconds(30)).ok()); });
  EXPECT_LT(ms, 0) << "slept its whole timeout";
}

TEST_F(PostgresLeaseNotifierTest, InterruptEndsAWaitAtOnceWithoutAChange) {
  std::thread interrupter([&] {
    std::this_thread::sleep_for(milliseconds(100));
    notifier_->Interrupt();
  });
  auto start = Clock::now();
  EXPECT_FALSE(notifier_->Wait(kPoll));
  interrupter.join();
  EXPECT_LT(Clock::now() - start, seconds(2));
}

TEST_F(PostgresLeaseNotifierTest, ACutConnectionIsReopenedAndReportedAsAPossibleChange) {
  auto admin = PostgresEnvironment::Admin();
  // The server ends the listener's session, as a restart or a proxy would.
  auto killed = admin->Scalar(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  ASSERT_NE(*killed, "0");
  EXPECT_TRUE(notifier_->Wait(seconds(10))) << "listening again: changes may have been missed";
  EXPECT_TRUE(notifier_->Listening());
  double ms =
      WakeAfterMs([&] { ASSERT_TRUE(store_->Acquire(Key(), Holder("a"), seconds(30)).ok()); });
  EXPECT_GE(ms, 0) << "and notifications arrive again";
}

TEST_F(PostgresLeaseNotifierTest, ADroppedNetworkConnectionIsReopenedToo) {
  notifier_->DropConnection();
  EXPECT_TRUE(notifier_->Wait(seconds(10)));
  EXPECT_TRUE(notifier_->Listening());
}

TEST_F(PostgresLeaseNotifierTest, AnUnreachableServerNeverBlocksTheWaiterPastItsTimeout) {
  PostgresConnectionOptions options = PostgresEnvironment::server().StoreOptions();
  options.url = "postgresql://ams@127.0.0.1:1/amsha";  // nothing listens on port 1
  auto notifier = PostgresLeaseNotifier::Create(options, cluster_);
  ASSERT_TRUE(notifier.ok());
  auto start = Clock::now();
  EXPECT_FALSE((*notifier)->Wait(milliseconds(300)));
  EXPECT_LT(Clock::now() - start, seconds(1));
  EXPECT_FALSE((*notifier)->Listening());
}

}  // namespace
}  // namespace amsha
