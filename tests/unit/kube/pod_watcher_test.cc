#include "kube/pod_watcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "common/clock.h"
#include "kube/label_selector.h"
#include "support/fake_kube_api.h"

namespace amsha {
namespace {

using Method = FakeKubeApi::Method;
using std::chrono::milliseconds;

constexpr char kSelector[] = "app=ams";

PodWatcher::Options TestOptions() {
  PodWatcher::Options options;
  options.label_selector = kSelector;
  options.initial_backoff = milliseconds(100);
  options.max_backoff = milliseconds(1600);
  options.min_watch_duration = milliseconds(1000);
  options.backoff_seed = 7;
  return options;
}

std::string Describe(const std::vector<Pod>& pods) {
  std::string out;
  for (const Pod& p : pods) out += p.name + "@" + p.resource_version + " ";
  return out;
}

// The pods the API holds that match the selector: what the cache must equal.
std::vector<Pod> Expected(const FakeKubeApi& api) {
  LabelSelector selector = *LabelSelector::Parse(kSelector);
  std::vector<Pod> out;
  for (const Pod& p : api.Pods()) {
    if (selector.Matches(p.labels)) out.push_back(p);
  }
  return out;
}

class PodWatcherTest : public ::testing::Test {
 protected:
  PodWatcherTest() : watcher_(&api_, TestOptions(), &clock_) {
    watcher_.SetListener([this](const PodWatcher::Change& c) { changes_.push_back(c); });
  }

  Pod AddPod(const std::string& name, Labels labels = {{"app", "ams"}}) {
    return api_.PutPod(api_.MakePod(name, std::move(labels)));
  }

  // A watch that replays what happened since the watcher's resourceVersion
  // and then ends as a server-side timeout does.
  milliseconds StepThroughWatch() {
    api_.ScriptWatchEnd(Status::Ok());
    return watcher_.Step(never_);
  }

  std::string ChangeLog() {
    std::string out;
    for (const auto& c : changes_) {
      const char* t = c.type == WatchEventType::kAdded      ? "+"
                      : c.type == WatchEventType::kModified ? "~"
                                                            : "-";
      out += t + c.pod.name + " ";
    }
    changes_.clear();
    return out;
  }

  FakeKubeApi api_{"ams"};
  FakeClock clock_;
  Cancellation never_;
  PodWatcher watcher_;
  std::vector<PodWatcher::Change> changes_;
};

TEST_F(PodWatcherTest, FirstListFillsTheCacheWithMatchingPodsOnly) {
  AddPod("ams-0");
  AddPod("ams-1");
  AddPod("other", {{"app", "web"}});
  EXPECT_FALSE(watcher_.Synced());
  uint64_t before = watcher_.Generation();

  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));

  EXPECT_TRUE(watcher_.Synced());
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected(api_)));
  EXPECT_EQ(watcher_.ResourceVersion(), api_.CurrentResourceVersion());
  EXPECT_GT(watcher_.Generation(), before);
  EXPECT_EQ(ChangeLog(), "+ams-0 +ams-1 ");
}

TEST_F(PodWatcherTest, AnEmptyFirstListStillCountsAsSyncedAndBumpsTheGeneration) {
  watcher_.Step(never_);
  EXPECT_TRUE(watcher_.Synced());
  EXPECT_EQ(watcher_.Generation(), 1u);
  EXPECT_TRUE(watcher_.Snapshot().empty());
}

TEST_F(PodWatcherTest, WatchEventsUpdateTheCacheAndNotifyEachChange) {
  AddPod("ams-0");
  watcher_.Step(never_);
  ChangeLog();

  AddPod("ams-1");
  ASSERT_TRUE(api_.SetPodReady("ams-0", false).ok());
  ASSERT_TRUE(api_.RemovePod("ams-1").ok());
  StepThroughWatch();

  EXPECT_EQ(ChangeLog(), "+ams-1 ~ams-0 -ams-1 ");
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected(api_)));
  EXPECT_FALSE(watcher_.Get("ams-0")->ready);
}

TEST_F(PodWatcherTest, ResumesFromTheLastResourceVersionAfterANormalClose) {
  AddPod("ams-0");
  watcher_.Step(never_);
  std::string listed_at = api_.CurrentResourceVersion();

  Pod changed = AddPod("ams-1");
  StepThroughWatch();
  AddPod("ams-2");
  StepThroughWatch();

  std::vector<FakeKubeApi::Call> watches = api_.CallsOf(Method::kWatchPods);
  ASSERT_EQ(watches.size(), 2u);
  EXPECT_EQ(watches[0].detail, std::string("selector=app=ams rv=") + listed_at);
  EXPECT_EQ(watches[1].detail, "selector=app=ams rv=" + changed.resource_version);
  EXPECT_EQ(api_.CallCount(Method::kListPods), 1);
  EXPECT_EQ(ChangeLog(), "+ams-0 +ams-1 +ams-2 ");
}

TEST_F(PodWatcherTest, BookmarksAdvanceTheResourceVersionWithoutAChange) {
  AddPod("ams-0");
  watcher_.Step(never_);
  ChangeLog();
  AddPod("other", {{"app", "web"}});  // moves the resourceVersion, not our pods
  api_.SendBookmark();
  uint64_t generation = watcher_.Generation();

  StepThroughWatch();

  EXPECT_EQ(watcher_.ResourceVersion(), api_.CurrentResourceVersion());
  EXPECT_EQ(watcher_.Generation(), generation);
  EXPECT_EQ(ChangeLog(), "");
}

TEST_F(PodWatcherTest, RelistsOnGoneAndEmitsOnlyTheDifferences) {
  AddPod("ams-0");
  AddPod("ams-1");
  AddPod("ams-2");
  watcher_.Step(never_);
  ChangeLog();

  // While the watcher is away, the history it would resume from is lost.
  ASSERT_TRUE(api_.RemovePod("ams-1").ok());
  ASSERT_TRUE(api_.SetPodReady("ams-2", false).ok());
  AddPod("ams-3");
  api_.Compact();

  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));  // the watch gets kGone
  EXPECT_EQ(watcher_.stats().relists, 1);
  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));  // the relist

  EXPECT_EQ(api_.CallCount(Method::kListPods), 2);
  EXPECT_EQ(ChangeLog(), "-ams-1 ~ams-2 +ams-3 ");
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected(api_)));

  // And the next watch starts from the new list.
  AddPod("ams-4");
  StepThroughWatch();
  EXPECT_EQ(ChangeLog(), "+ams-4 ");
}

TEST_F(PodWatcherTest, RelistsWhenTheWatchEndsWithAnExpiredError) {
  AddPod("ams-0");
  watcher_.Step(never_);
  api_.ScriptWatchEnd(Status(StatusCode::kGone, "Expired: too old resource version"));
  watcher_.Step(never_);
  watcher_.Step(never_);
  EXPECT_EQ(api_.CallCount(Method::kListPods), 2);
  EXPECT_EQ(watcher_.stats().relists, 1);
}

TEST_F(PodWatcherTest, WatchErrorsBackOffWithJitterAndResumeWithoutRelisting) {
  AddPod("ams-0");
  watcher_.Step(never_);
  std::string listed_at = api_.CurrentResourceVersion();
  api_.FailNext(Method::kWatchPods, 4, UnavailableError("connection refused"));

  int64_t caps[] = {100, 200, 400, 800};
  for (int64_t cap : caps) {
    milliseconds delay = watcher_.Step(never_);
    EXPECT_GE(delay.count(), cap / 2);
    EXPECT_LE(delay.count(), cap);
  }
  EXPECT_EQ(watcher_.LastError().code(), StatusCode::kUnavailable);
  EXPECT_EQ(watcher_.stats().errors, 4);

  AddPod("ams-1");
  StepThroughWatch();
  std::vector<FakeKubeApi::Call> watches = api_.CallsOf(Method::kWatchPods);
  EXPECT_EQ(watches.back().detail, "selector=app=ams rv=" + listed_at);
  EXPECT_EQ(api_.CallCount(Method::kListPods), 1);
  EXPECT_TRUE(watcher_.LastError().ok());
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected(api_)));
}

TEST_F(PodWatcherTest, BackoffStartsOverOnceEventsFlowAgain) {
  watcher_.Step(never_);
  api_.FailNext(Method::kWatchPods, 3, UnavailableError("boom"));
  for (int i = 0; i < 3; ++i) watcher_.Step(never_);
  AddPod("ams-0");
  api_.ScriptWatchEnd(InternalError("stream broke"));
  milliseconds delay = watcher_.Step(never_);  // an event, then an error
  EXPECT_LE(delay.count(), 100);
}

TEST_F(PodWatcherTest, FailedListsBackOffAndLeaveTheWatcherUnsynced) {
  AddPod("ams-0");
  api_.FailNext(Method::kListPods, 2,
                PermissionDeniedError("forbidden: cannot list pods in namespace \"ams\""));

  EXPECT_GT(watcher_.Step(never_).count(), 0);
  EXPECT_GT(watcher_.Step(never_).count(), 0);
  EXPECT_FALSE(watcher_.Synced());
  EXPECT_EQ(watcher_.LastError().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(api_.CallCount(Method::kWatchPods), 0);

  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));
  EXPECT_TRUE(watcher_.Synced());
  EXPECT_TRUE(watcher_.LastError().ok());
}

TEST_F(PodWatcherTest, AWatchThatClosesAtOnceWithoutEventsBacksOff) {
  watcher_.Step(never_);
  EXPECT_GT(StepThroughWatch().count(), 0);
  EXPECT_EQ(watcher_.stats().short_watches, 1);

  // The same empty close after a long, quiet watch is normal.
  api_.SetCallHook([this](Method m) {
    if (m == Method::kWatchPods) clock_.Advance(std::chrono::seconds(300));
  });
  EXPECT_EQ(StepThroughWatch(), milliseconds(0));
  EXPECT_EQ(watcher_.stats().short_watches, 1);
}

TEST_F(PodWatcherTest, PodsThatStopMatchingTheSelectorLeaveTheCache) {
  AddPod("ams-0");
  AddPod("ams-1");
  watcher_.Step(never_);
  ChangeLog();

  ASSERT_TRUE(api_.PatchPodLabels("ams-1", {{"app", std::nullopt}}).ok());
  ASSERT_TRUE(api_.PatchPodLabels("ams-0", {{"role", "leader"}}).ok());
  StepThroughWatch();

  EXPECT_EQ(ChangeLog(), "-ams-1 ~ams-0 ");
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected(api_)));
  EXPECT_EQ(watcher_.Get("ams-0")->labels.at("role"), "leader");
}

TEST_F(PodWatcherTest, ATerminatingPodStaysCachedUntilDeleted) {
  AddPod("ams-0");
  watcher_.Step(never_);
  ASSERT_TRUE(api_.MarkPodTerminating("ams-0").ok());
  StepThroughWatch();
  ASSERT_TRUE(watcher_.Get("ams-0").has_value());
  EXPECT_TRUE(watcher_.Get("ams-0")->Terminating());
  ASSERT_TRUE(api_.RemovePod("ams-0").ok());
  StepThroughWatch();
  EXPECT_FALSE(watcher_.Get("ams-0").has_value());
}

// Random changes interleaved with every way a watch can end; after each step
// the cache must equal the API's state, and each change is notified once:
// replaying the change log over the first list rebuilds the cache exactly.
TEST_F(PodWatcherTest, NoStateIsLostOrDuplicatedAcrossClosesErrorsAndRelists) {
  std::mt19937 rng(12345);
  std::map<std::string, Pod> replayed;
  watcher_.SetListener([&](const PodWatcher::Change& c) {
    if (c.type == WatchEventType::kDeleted) {
      EXPECT_EQ(replayed.erase(c.pod.name), 1u) << "deleted twice or never added: " << c.pod.name;
    } else if (c.type == WatchEventType::kAdded) {
      EXPECT_TRUE(replayed.emplace(c.pod.name, c.pod).second) << "added twice: " << c.pod.name;
    } else {
      ASSERT_TRUE(replayed.count(c.pod.name)) << "modified before added: " << c.pod.name;
      EXPECT_FALSE(replayed[c.pod.name] == c.pod) << "a no-op change was notified";
      replayed[c.pod.name] = c.pod;
    }
  });
  api_.SetHistoryWindow(8);

  for (int round = 0; round < 300; ++round) {
    int mutations = static_cast<int>(rng() % 4);
    for (int i = 0; i < mutations; ++i) {
      std::string name = "ams-" + std::to_string(rng() % 6);
      switch (rng() % 5) {
        case 0:
          AddPod(name, {{"app", rng() % 4 ? "ams" : "web"}});
          break;
        case 1:
          api_.SetPodReady(name, rng() % 2);
          break;
        case 2:
          api_.PatchPodLabels(
              name, {{"app", rng() % 2 ? std::optional<std::string>("ams") : std::nullopt}});
          break;
        case 3:
          api_.RemovePod(name);
          break;
        case 4:
          api_.SendBookmark();
          break;
      }
    }
    // Every round queues one watch end, so a watch never waits forever;
    // rounds that list or fail leave theirs for a later watch.
    switch (rng() % 6) {
      case 0:
        api_.Compact();
        api_.ScriptWatchEnd(Status::Ok());
        break;
      case 1:
        api_.FailNext(rng() % 2 ? Method::kWatchPods : Method::kListPods, 1,
                      UnavailableError("injected"));
        api_.ScriptWatchEnd(Status::Ok());
        break;
      case 2:
        api_.ScriptWatchEnd(Status(StatusCode::kGone, "Expired"));
        break;
      case 3:
        api_.ScriptWatchEnd(InternalError("stream cut"));
        break;
      default:
        api_.ScriptWatchEnd(Status::Ok());
        break;
    }
    clock_.Advance(std::chrono::seconds(2));
    watcher_.Step(never_);
  }
  // Catch up without faults: at most one relist, then quiet watches.
  api_.ClearKnobs();
  for (int i = 0; i < 3; ++i) StepThroughWatch();
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected(api_)));
  std::vector<Pod> from_changes;
  for (const auto& [name, pod] : replayed) from_changes.push_back(pod);
  EXPECT_EQ(Describe(from_changes), Describe(Expected(api_)));
  EXPECT_GT(watcher_.stats().relists, 0);
  EXPECT_GT(watcher_.stats().errors, 0);
}

TEST_F(PodWatcherTest, TheThreadDeliversChangesAndStopEndsAnOpenWatchPromptly) {
  AddPod("ams-0");
  PodWatcher watcher(&api_, TestOptions());
  watcher.Start();
  ASSERT_TRUE(api_.WaitForOpenWatches(1, std::chrono::seconds(10)));
  EXPECT_TRUE(watcher.Synced());

  uint64_t seen = watcher.Generation();
  AddPod("ams-1");
  uint64_t now = watcher.WaitForChange(seen, std::chrono::seconds(10));
  EXPECT_NE(now, seen);
  EXPECT_TRUE(watcher.Get("ams-1").has_value());

  auto start = std::chrono::steady_clock::now();
  watcher.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(api_.OpenWatches(), 0);
  EXPECT_EQ(api_.CallsOf(Method::kWatchPods).back().result.code(), StatusCode::kCancelled);
}

TEST_F(PodWatcherTest, StopEndsAHangingListPromptlyWithoutCountingAnError) {
  api_.HangNext(Method::kListPods, 1);
  PodWatcher watcher(&api_, TestOptions());
  watcher.Start();
  ASSERT_TRUE(api_.WaitForHanging(1, std::chrono::seconds(10)));

  auto start = std::chrono::steady_clock::now();
  watcher.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_FALSE(watcher.Synced());
  EXPECT_EQ(watcher.stats().errors, 0);
  EXPECT_EQ(api_.CallsOf(Method::kListPods).back().result.code(), StatusCode::kCancelled);
}

TEST_F(PodWatcherTest, AListThatHangsAndThenAnswersStillSyncs) {
  api_.HangNext(Method::kListPods, 1);
  AddPod("ams-0");
  std::thread release([this] {
    ASSERT_TRUE(api_.WaitForHanging(1, std::chrono::seconds(10)));
    api_.ReleaseHangs();
  });
  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));
  release.join();
  EXPECT_TRUE(watcher_.Synced());
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected(api_)));
}

TEST_F(PodWatcherTest, StopWakesWaitersAndIsIdempotent) {
  PodWatcher watcher(&api_, TestOptions());
  watcher.Start();
  ASSERT_TRUE(api_.WaitForOpenWatches(1, std::chrono::seconds(10)));
  uint64_t seen = watcher.Generation();
  std::chrono::steady_clock::duration waited{};
  std::thread waiter([&] {
    auto start = std::chrono::steady_clock::now();
    watcher.WaitForChange(seen, std::chrono::hours(1));
    waited = std::chrono::steady_clock::now() - start;
  });
  watcher.Stop();
  waiter.join();
  EXPECT_LT(waited, std::chrono::seconds(5));
  watcher.Stop();
  EXPECT_EQ(api_.OpenWatches(), 0);
}

}  // namespace
}  // namespace amsha
