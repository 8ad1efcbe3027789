#include "common/backoff.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DelaysDoubleUpToTheMaximumWithJitterInTheUpperHalf) {
  Backoff backoff(milliseconds(100), milliseconds(1000), /*seed=*/42);
  int64_t expected_cap[] = {100, 200, 400, 800, 1000, 1000};
  for (int64_t cap : expected_cap) {
    milliseconds d = backoff.Next();
    EXPECT_GE(d.count(), cap / 2);
    EXPECT_LE(d.count(), cap);
  }
}

TEST(BackoffTest, ResetStartsAgainFromTheInitialDelay) {
  Backoff backoff(milliseconds(100), milliseconds(10000), 7);
  for (int i = 0; i < 5; ++i) backoff.Next();
  backoff.Reset();
  EXPECT_LE(backoff.Next().count(), 100);
  EXPECT_EQ(backoff.attempts(), 1);
}

TEST(BackoffTest, TwoSeedsDoNotRetryInLockstep) {
  Backoff a(milliseconds(1000), milliseconds(60000), 1);
  Backoff b(milliseconds(1000), milliseconds(60000), 2);
  int same = 0;
  for (int i = 0; i < 10; ++i) same += a.Next() == b.Next();
  EXPECT_LT(same, 10);
}

}  // namespace
}  // namespace amsha
