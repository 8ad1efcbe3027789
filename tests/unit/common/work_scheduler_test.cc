#include "common/work_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace amsha {
namespace {

using std::chrono::milliseconds;

// Waits (up to 10 s) until `done` holds; the scheduler runs on real time.
template <typename Predicate>
bool Eventually(Predicate done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

TEST(WorkSchedulerTest, RunsEveryTaskOnAFixedNumberOfThreads) {
  WorkScheduler scheduler("test", 2);
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> passes{0};
  for (int i = 0; i < 50; ++i) {
    scheduler.Add([&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        threads.insert(std::this_thread::get_id());
      }
      ++passes;
      return milliseconds(5);
    });
  }
  scheduler.Start();
  ASSERT_TRUE(Eventually([&] { return passes.load() >= 500; }));
  scheduler.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_LE(threads.size(), 2u) << "50 tasks, 2 workers";
}

TEST(WorkSchedulerTest, NeverRunsOneTaskOnTwoThreadsAtOnce) {
  WorkScheduler scheduler("test", 4);
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> passes{0};
  WorkScheduler::TaskId id = scheduler.Add([&] {
    if (inside.fetch_add(1) != 0) ++overlaps;
    std::this_thread::sleep_for(milliseconds(1));
    inside.fetch_sub(1);
    ++passes;
    return milliseconds(0);
  });
  scheduler.Start();
  // Wakes from other threads while the task runs.
  std::thread waker([&] {
    for (int i = 0; i < 2000 && passes.load() < 200; ++i) scheduler.Wake(id);
  });
  ASSERT_TRUE(Eventually([&] { return passes.load() >= 200; }));
  waker.join();
  scheduler.Stop();
  EXPECT_EQ(overlaps.load(), 0);
}

TEST(WorkSchedulerTest, WakeBringsALongWaitForward) {
  WorkScheduler scheduler("test", 1);
  std::atomic<int> passes{0};
  WorkScheduler::TaskId id = scheduler.Add([&] {
    ++passes;
    return std::chrono::hours(1);
  });
  scheduler.Start();
  ASSERT_TRUE(Eventually([&] { return passes.load() == 1; }));
  scheduler.Wake(id);
  EXPECT_TRUE(Eventually([&] { return passes.load() == 2; }))
      << "without the wake the next pass is an hour away";
}

TEST(WorkSchedulerTest, AWakeDuringAPassRunsTheTaskAgainRightAfter) {
  WorkScheduler scheduler("test", 1);
  std::atomic<int> passes{0};
  std::atomic<WorkScheduler::TaskId> self{0};
  WorkScheduler::TaskId id = scheduler.Add([&] {
    // The first pass wakes itself, as a pod event arriving mid-pass does.
    if (passes.fetch_add(1) == 0) {
      while (self.load() == 0) std::this_thread::yield();
      scheduler.Wake(self.load());
    }
    return std::chrono::hours(1);
  });
  self = id;
  scheduler.Start();
  EXPECT_TRUE(Eventually([&] { return passes.load() == 2; }));
}

TEST(WorkSchedulerTest, ADueTaskIsNotStarvedByBusyOnes) {
  WorkScheduler scheduler("test", 1);
  std::atomic<int> busy_passes{0};
  std::atomic<int> quiet_passes{0};
  for (int i = 0; i < 5; ++i) {
    scheduler.Add([&] {
      ++busy_passes;
      return milliseconds(0);  // always due again at once
    });
  }
  scheduler.Add(
      [&] {
        ++quiet_passes;
        return std::chrono::hours(1);
      },
      milliseconds(20));
  scheduler.Start();
  EXPECT_TRUE(Eventually([&] { return quiet_passes.load() == 1; }));
  EXPECT_GT(busy_passes.load(), 0);
}

TEST(WorkSchedulerTest, RemoveWaitsForTheRunningPassAndStopsTheTask) {
  WorkScheduler scheduler("test", 2);
  std::atomic<bool> in_pass{false};
  std::atomic<bool> release{false};
  std::atomic<int> passes{0};
  WorkScheduler::TaskId id = scheduler.Add([&] {
    in_pass = true;
    while (!release.load()) std::this_thread::sleep_for(milliseconds(1));
    ++passes;
    return milliseconds(0);
  });
  scheduler.Start();
  ASSERT_TRUE(Eventually([&] { return in_pass.load(); }));
  std::atomic<bool> removed{false};
  std::thread remover([&] {
    scheduler.Remove(id);
    removed = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(removed.load()) << "Remove returned while the pass still ran";
  release = true;
  remover.join();
  int after = passes.load();
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(passes.load(), after) << "the task ran after Remove returned";
  EXPECT_EQ(scheduler.TaskCount(), 0u);
}

TEST(WorkSchedulerTest, ATaskMayRemoveItself) {
  WorkScheduler scheduler("test", 1);
  std::atomic<int> passes{0};
  std::atomic<WorkScheduler::TaskId> self{0};
  self = scheduler.Add([&] {
    ++passes;
    while (self.load() == 0) std::this_thread::yield();
    scheduler.Remove(self.load());
    return milliseconds(0);
  });
  scheduler.Start();
  ASSERT_TRUE(Eventually([&] { return scheduler.TaskCount() == 0; }));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(passes.load(), 1);
}

TEST(WorkSchedulerTest, StopLetsThePassFinishAndRunsNothingAfter) {
  WorkScheduler scheduler("test", 2);
  std::atomic<int> passes{0};
  scheduler.Add([&] {
    std::this_thread::sleep_for(milliseconds(20));
    ++passes;
    return milliseconds(0);
  });
  scheduler.Start();
  ASSERT_TRUE(Eventually([&] { return passes.load() >= 1; }));
  scheduler.Stop();
  int after = passes.load();
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(passes.load(), after);
}

}  // namespace
}  // namespace amsha
