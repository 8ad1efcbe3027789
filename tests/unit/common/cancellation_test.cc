#include "common/cancellation.h"

#include <gtest/gtest.h>

#include <thread>

namespace amsha {
namespace {

TEST(CancellationTest, WaitForReturnsAtOnceWhenCancelledFromAnotherThread) {
  Cancellation cancel;
  std::thread t([&] { cancel.Cancel(); });
  EXPECT_TRUE(cancel.WaitFor(std::chrono::hours(1)));
  t.join();
}

TEST(CancellationTest, WaitForTimesOutWhenNotCancelled) {
  Cancellation cancel;
  EXPECT_FALSE(cancel.WaitFor(std::chrono::milliseconds(1)));
}

TEST(CancellationTest, RunsCallbacksOnceAndNotRemovedOnes) {
  Cancellation cancel;
  int runs = 0, removed_runs = 0;
  cancel.OnCancel([&] { ++runs; });
  int id = cancel.OnCancel([&] { ++removed_runs; });
  cancel.RemoveCallback(id);
  cancel.Cancel();
  cancel.Cancel();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(removed_runs, 0);
  cancel.OnCancel([&] { ++runs; });  // after the fact: runs at once
  EXPECT_EQ(runs, 2);
}

}  // namespace
}  // namespace amsha
