#include "election/controller_elector.h"

#include <gtest/gtest.h>

#include "support/fake_lease_store.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;

class ControllerElectorTest : public ::testing::Test {
 protected:
  ControllerElectorTest() : store_(&clock_) {
    ControllerConfig a;
    a.identity = "ctl-a";
    ControllerConfig b = a;
    b.identity = "ctl-b";
    a_ = std::make_unique<ControllerElector>(a, &store_, &clock_);
    b_ = std::make_unique<ControllerElector>(b, &store_, &clock_);
  }
  FakeClock clock_;
  FakeLeaseStore store_;
  std::unique_ptr<ControllerElector> a_, b_;
};

TEST_F(ControllerElectorTest, TheFirstReplicaBecomesActiveAndTheSecondStandsBy) {
  ControllerStep a = a_->Step();
  EXPECT_TRUE(a.active);
  EXPECT_TRUE(a.became_active);
  ControllerStep b = b_->Step();
  EXPECT_FALSE(b.active);
  EXPECT_TRUE(b.status.ok()) << "losing the race is a normal outcome";
  EXPECT_EQ(b_->ActiveIdentity(), "ctl-a");
}

TEST_F(ControllerElectorTest, StaysActiveWhileRenewing) {
  a_->Step();
  for (int i = 0; i < 20; ++i) {
    clock_.Advance(seconds(2));
    EXPECT_TRUE(a_->Step().active);
    EXPECT_FALSE(b_->Step().active);
  }
}

TEST_F(ControllerElectorTest, StopsWritingWithinTheRenewDeadlineWhenTheDatabaseIsGone) {
  a_->Step();
  store_.SetUnavailable(true);
  clock_.Advance(seconds(9));
  EXPECT_TRUE(a_->Step().active);
  clock_.Advance(seconds(1));
  EXPECT_FALSE(a_->IsActive()) << "10s renewDeadline passed without a renewal";
  ControllerStep s = a_->Step();
  EXPECT_FALSE(s.active);
}

TEST_F(ControllerElectorTest, TheDeadlineCountsFromWhenTheRenewalStarted) {
  // A renewal that takes long must not extend the deadline by its duration.
  class Slow : public FakeLeaseStore {
   public:
    Slow(FakeClock* c) : FakeLeaseStore(c), clock(c) {}
    StatusOr<LeaseRecord> Acquire(const LeaseKey& k, const LeaseHolder& h,
                                  milliseconds ttl) override {
      auto r = FakeLeaseStore::Acquire(k, h, ttl);
      clock->Advance(seconds(4));
      return r;
    }
    FakeClock* clock;
  };
  Slow slow(&clock_);
  ControllerConfig cfg;
  cfg.identity = "ctl-a";
  ControllerElector e(cfg, &slow, &clock_);
  e.Step();
  clock_.Advance(seconds(6) - milliseconds(1));
  EXPECT_TRUE(e.IsActive());
  clock_.Advance(milliseconds(1));
  EXPECT_FALSE(e.IsActive());
}

TEST_F(ControllerElectorTest, AfterAShortOutageItRenewsItsOwnRowAgain) {
  a_->Step();
  store_.SetUnavailable(true);
  clock_.Advance(seconds(12));
  EXPECT_FALSE(a_->Step().active);
  store_.SetUnavailable(false);
  EXPECT_TRUE(a_->Step().became_active) << "the row is still ours: nobody could take it";
  EXPECT_FALSE(b_->Step().active);
}

TEST_F(ControllerElectorTest, TheStandbyTakesOverOnlyAfterTheLeaseDuration) {
  a_->Step();
  // a dies: no more steps.
  clock_.Advance(seconds(15) - milliseconds(1));
  EXPECT_FALSE(b_->Step().active);
  clock_.Advance(milliseconds(1));
  EXPECT_TRUE(b_->Step().became_active);
  EXPECT_FALSE(a_->IsActive());
}

TEST_F(ControllerElectorTest, ReleaseLetsTheStandbyTakeOverAtOnce) {
  a_->Step();
  ASSERT_TRUE(a_->Release().ok());
  EXPECT_FALSE(a_->IsActive());
  EXPECT_TRUE(b_->Step().became_active);
}

TEST_F(ControllerElectorTest, AReplicaThatLostTheRowStopsAtOnce) {
  a_->Step();
  clock_.Advance(seconds(16));
  EXPECT_TRUE(b_->Step().became_active);
  ControllerStep s = a_->Step();
  EXPECT_FALSE(s.active);
  EXPECT_FALSE(a_->IsActive());
  EXPECT_EQ(a_->ActiveIdentity(), "ctl-b");
}

}  // namespace
}  // namespace amsha
