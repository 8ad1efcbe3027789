#include "kube/service_watcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "kube/pod_watcher.h"
#include "support/fake_kube_api.h"

namespace amsha {
namespace {

using Method = FakeKubeApi::Method;
using std::chrono::milliseconds;

ServiceWatcher::Options TestOptions() {
  ServiceWatcher::Options options;
  options.initial_backoff = milliseconds(100);
  options.max_backoff = milliseconds(1600);
  options.min_watch_duration = milliseconds(1000);
  options.backoff_seed = 11;
  return options;
}

std::string Describe(const std::vector<Service>& services) {
  std::string out;
  for (const Service& s : services) {
    out += s.name + "@" + s.resource_version + "{";
    for (const auto& [k, v] : s.selector) out += k + "=" + v + ",";
    out += "} ";
  }
  return out;
}

class ServiceWatcherTest : public ::testing::Test {
 protected:
  ServiceWatcherTest() : watcher_(&api_, TestOptions(), &clock_) {
    watcher_.SetListener([this](const ServiceWatcher::Change& c) { changes_.push_back(c); });
  }

  Service AddService(const std::string& name, Labels selector = {}) {
    Service s;
    s.name = name;
    s.selector = std::move(selector);
    return api_.PutService(s);
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
      out += t + c.service.name + " ";
    }
    changes_.clear();
    return out;
  }

  std::vector<Service> Expected() const {
    std::vector<Service> out;
    for (const char* name : {"a", "ams-leader", "b", "c", "d", "other"}) {
      if (auto s = api_.FindService(name)) out.push_back(*s);
    }
    return out;
  }

  FakeKubeApi api_{"ams"};
  FakeClock clock_;
  Cancellation never_;
  ServiceWatcher watcher_;
  std::vector<ServiceWatcher::Change> changes_;
};

TEST_F(ServiceWatcherTest, FirstListFillsTheCacheWithEveryServiceOfTheNamespace) {
  AddService("ams-leader", {{"role", "leader"}});
  AddService("other");
  EXPECT_FALSE(watcher_.Synced());

  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));

  EXPECT_TRUE(watcher_.Synced());
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected()));
  EXPECT_EQ(watcher_.ResourceVersion(), api_.CurrentResourceVersion());
  EXPECT_EQ(watcher_.Get("ams-leader")->selector.at("role"), "leader");
  EXPECT_FALSE(watcher_.Get("missing").has_value());
  EXPECT_EQ(ChangeLog(), "+ams-leader +other ");
  EXPECT_EQ(api_.CallCount(Method::kListServices), 1);
}

TEST_F(ServiceWatcherTest, APatchByAnotherClientReachesTheCacheAndTheListener) {
  AddService("ams-leader");
  watcher_.Step(never_);
  ChangeLog();

  ServicePatch patch;
  patch.selector = Labels{{"app", "someone-else"}};
  ASSERT_TRUE(api_.PatchService("ams-leader", patch).ok());
  AddService("b");
  ASSERT_TRUE(api_.RemoveService("b").ok());
  StepThroughWatch();

  EXPECT_EQ(ChangeLog(), "~ams-leader +b -b ");
  EXPECT_EQ(watcher_.Get("ams-leader")->selector.at("app"), "someone-else");
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected()));
}

TEST_F(ServiceWatcherTest, ResumesFromTheLastResourceVersionAndBookmarksAdvanceIt) {
  AddService("a");
  watcher_.Step(never_);
  std::string listed_at = api_.CurrentResourceVersion();
  Service b = AddService("b");
  StepThroughWatch();
  api_.SendBookmark();
  StepThroughWatch();

  std::vector<FakeKubeApi::Call> watches = api_.CallsOf(Method::kWatchServices);
  ASSERT_EQ(watches.size(), 2u);
  EXPECT_EQ(watches[0].detail, "rv=" + listed_at);
  EXPECT_EQ(watches[1].detail, "rv=" + b.resource_version);
  EXPECT_EQ(watcher_.ResourceVersion(), api_.CurrentResourceVersion());
  EXPECT_EQ(api_.CallCount(Method::kListServices), 1);
}

TEST_F(ServiceWatcherTest, RelistsOnGoneAndEmitsOnlyTheDifferences) {
  AddService("a");
  AddService("b");
  AddService("c");
  watcher_.Step(never_);
  ChangeLog();

  ASSERT_TRUE(api_.RemoveService("b").ok());
  AddService("c", {{"changed", "yes"}});
  AddService("d");
  api_.Compact();

  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));  // the watch gets kGone
  EXPECT_EQ(watcher_.stats().relists, 1);
  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));  // the relist

  EXPECT_EQ(api_.CallCount(Method::kListServices), 2);
  EXPECT_EQ(ChangeLog(), "-b ~c +d ");
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected()));
}

TEST_F(ServiceWatcherTest, WatchErrorsBackOffWithJitterAndResumeWithoutRelisting) {
  AddService("a");
  watcher_.Step(never_);
  api_.FailNext(Method::kWatchServices, 3, UnavailableError("connection refused"));
  for (int64_t cap : {100, 200, 400}) {
    milliseconds delay = watcher_.Step(never_);
    EXPECT_GE(delay.count(), cap / 2);
    EXPECT_LE(delay.count(), cap);
  }
  EXPECT_EQ(watcher_.LastError().code(), StatusCode::kUnavailable);
  AddService("b");
  StepThroughWatch();
  EXPECT_TRUE(watcher_.LastError().ok());
  EXPECT_EQ(api_.CallCount(Method::kListServices), 1);
  EXPECT_EQ(Describe(watcher_.Snapshot()), Describe(Expected()));
}

TEST_F(ServiceWatcherTest, AForbiddenListLeavesItUnsyncedWithTheRuleToGrant) {
  api_.FailNext(Method::kListServices, 1,
                PermissionDeniedError("forbidden: cannot list services in namespace \"ams\" "
                                      "(HTTP 403 Forbidden): ...; grant it in the controller's "
                                      "Role"));
  EXPECT_GT(watcher_.Step(never_).count(), 0);
  EXPECT_FALSE(watcher_.Synced());
  EXPECT_EQ(watcher_.LastError().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(watcher_.LastError().message().find("cannot list services"), std::string::npos);
  EXPECT_EQ(watcher_.Step(never_), milliseconds(0));
  EXPECT_TRUE(watcher_.Synced());
}

TEST_F(ServiceWatcherTest, ObserveRecordsOurWriteAtOnceAndItsWatchEventChangesNothing) {
  AddService("ams-leader");
  watcher_.Step(never_);
  ChangeLog();
  uint64_t generation = watcher_.Generation();

  ServicePatch patch;
  patch.selector = Labels{{"role", "leader"}};
  StatusOr<Service> written = api_.PatchService("ams-leader", patch);
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(watcher_.Observe(*written));
  EXPECT_EQ(watcher_.Get("ams-leader")->resource_version, written->resource_version);
  EXPECT_GT(watcher_.Generation(), generation);
  EXPECT_EQ(ChangeLog(), "") << "our own write wakes nobody";

  StepThroughWatch();
  EXPECT_EQ(ChangeLog(), "") << "the watch event equals what Observe recorded";
  EXPECT_FALSE(watcher_.Observe(*written)) << "already delivered";
}

TEST_F(ServiceWatcherTest, ObserveNeverMovesTheCacheBackOverALaterDeliveredChange) {
  AddService("ams-leader");
  watcher_.Step(never_);
  ServicePatch ours;
  ours.selector = Labels{{"role", "leader"}};
  Service written = *api_.PatchService("ams-leader", ours);
  ServicePatch theirs;
  theirs.selector = Labels{{"app", "theirs"}};
  Service later = *api_.PatchService("ams-leader", theirs);
  StepThroughWatch();  // delivers both before our Observe runs

  EXPECT_FALSE(watcher_.Observe(written));
  EXPECT_EQ(watcher_.Get("ams-leader")->resource_version, later.resource_version);
}

TEST_F(ServiceWatcherTest, ObserveNeverBringsBackAServiceDeletedAfterOurWrite) {
  AddService("ams-leader");
  watcher_.Step(never_);
  ServicePatch ours;
  ours.selector = Labels{{"role", "leader"}};
  Service written = *api_.PatchService("ams-leader", ours);
  ASSERT_TRUE(api_.RemoveService("ams-leader").ok());
  StepThroughWatch();

  EXPECT_FALSE(watcher_.Observe(written));
  EXPECT_FALSE(watcher_.Get("ams-leader").has_value());
}

TEST_F(ServiceWatcherTest, PodWatchersKeepNoVersionsForObserveAndIgnoreIt) {
  Pod pod = api_.PutPod(api_.MakePod("ams-0", {{"app", "ams"}}));
  PodWatcher::Options options;
  options.label_selector = "app=ams";
  PodWatcher pods(&api_, options, &clock_);
  pods.Step(never_);
  pod.labels["role"] = "leader";
  pod.resource_version = "999";
  EXPECT_FALSE(pods.Observe(pod));
  EXPECT_EQ(pods.Get("ams-0")->labels.count("role"), 0u);
}

TEST_F(ServiceWatcherTest, ObserveBeforeTheFirstListIsIgnored) {
  Service s = AddService("ams-leader");
  EXPECT_FALSE(watcher_.Observe(s));
  EXPECT_FALSE(watcher_.Get("ams-leader").has_value());
}

TEST_F(ServiceWatcherTest, TheThreadDeliversChangesAndStopEndsTheWatchPromptly) {
  AddService("ams-leader");
  ServiceWatcher watcher(&api_, TestOptions());
  watcher.Start();
  ASSERT_TRUE(api_.WaitForOpenWatches(1, std::chrono::seconds(10)));
  EXPECT_TRUE(watcher.Synced());
  uint64_t seen = watcher.Generation();
  AddService("b");
  EXPECT_NE(watcher.WaitForChange(seen, std::chrono::seconds(10)), seen);
  EXPECT_TRUE(watcher.Get("b").has_value());

  auto start = std::chrono::steady_clock::now();
  watcher.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(api_.OpenWatches(), 0);
}

TEST_F(ServiceWatcherTest, PodWatchesDoNotSeeServiceChangesNorTheOtherWayRound) {
  AddService("a");
  watcher_.Step(never_);
  ChangeLog();
  api_.PutPod(api_.MakePod("ams-0", {{"app", "ams"}}));
  StepThroughWatch();
  EXPECT_EQ(ChangeLog(), "");
  EXPECT_NE(watcher_.ResourceVersion(), api_.CurrentResourceVersion());
  api_.SendBookmark();
  StepThroughWatch();
  EXPECT_EQ(watcher_.ResourceVersion(), api_.CurrentResourceVersion()) << "through the bookmark";
}

}  // namespace
}  // namespace amsha
