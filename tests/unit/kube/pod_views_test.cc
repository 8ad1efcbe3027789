#include "kube/pod_views.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/cancellation.h"
#include "common/clock.h"
#include "support/fake_kube_api.h"

namespace amsha {
namespace {

LabelSelector Selector(const std::string& text) { return *LabelSelector::Parse(text); }

std::vector<std::string> Names(const PodSource* view) {
  std::vector<std::string> out;
  for (const Pod& pod : view->Snapshot()) out.push_back(pod.name);
  return out;
}

TEST(PodViewsCommonSelectorTest, KeepsOnlyTheRequirementsEveryClusterHas) {
  EXPECT_EQ(PodViews::CommonSelector(
                {Selector("app=ams,ams-cluster=a"), Selector("app=ams,ams-cluster=b")}),
            "app=ams");
  EXPECT_EQ(PodViews::CommonSelector(
                {Selector("app==ams,tier in (y,x)"), Selector("tier in (x,y),app=ams,team=t")}),
            "app=ams,tier in (x,y)")
      << "`==` and `=` and the order of values do not matter";
  EXPECT_EQ(PodViews::CommonSelector({Selector("a=b"), Selector("c=d")}), "")
      << "nothing in common: every pod of the namespace";
  EXPECT_EQ(PodViews::CommonSelector({Selector("app=ams,!legacy")}), "!legacy,app=ams");
  // What the shared watch selects is a superset of every cluster's pods.
  std::string common = PodViews::CommonSelector(
      {Selector("app=ams,ams-cluster=a"), Selector("app=ams,ams-cluster notin (a)")});
  EXPECT_TRUE(Selector(common).Matches({{"app", "ams"}, {"ams-cluster", "a"}}));
  EXPECT_TRUE(Selector(common).Matches({{"app", "ams"}, {"ams-cluster", "z"}}));
}

class PodViewsTest : public ::testing::Test {
 protected:
  PodViewsTest() {
    PodWatcher::Options options;
    options.label_selector = "app=ams";
    options.min_watch_duration = std::chrono::milliseconds(0);
    watcher_ = std::make_unique<PodWatcher>(&api_, options, &clock_);
    views_ = std::make_unique<PodViews>(watcher_.get());
    watcher_->SetListener([this](const PodWatcher::Change& c) { views_->Dispatch(c); });
    a_ = views_->AddView(Selector("app=ams,ams-cluster=a"));
    b_ = views_->AddView(Selector("app=ams,ams-cluster=b"));
    views_->SetOnChange(a_, [this] { ++wakes_["a"]; });
    views_->SetOnChange(b_, [this] { ++wakes_["b"]; });
  }

  void Put(const std::string& name, const std::string& cluster) {
    api_.PutPod(api_.MakePod(name, {{"app", "ams"}, {"ams-cluster", cluster}}));
  }
  // One list (the first step) or one watch that replays what changed.
  void Step() {
    if (watcher_->Synced()) api_.ScriptWatchEnd(Status::Ok());
    watcher_->Step(never_);
  }

  FakeClock clock_;
  FakeKubeApi api_;
  Cancellation never_;
  std::unique_ptr<PodWatcher> watcher_;
  std::unique_ptr<PodViews> views_;
  const PodSource* a_ = nullptr;
  const PodSource* b_ = nullptr;
  std::map<std::string, int> wakes_;
};

TEST_F(PodViewsTest, AViewIsNotSyncedBeforeTheSharedWatchHasListed) {
  Put("a-0", "a");
  EXPECT_FALSE(a_->Synced());
  EXPECT_TRUE(a_->Snapshot().empty());
  Step();
  EXPECT_TRUE(a_->Synced());
  EXPECT_TRUE(b_->Synced()) << "an empty view is synced too: its cluster has no pods";
  EXPECT_TRUE(b_->Snapshot().empty());
}

TEST_F(PodViewsTest, EachViewHoldsOnlyItsOwnClustersPods) {
  Put("a-0", "a");
  Put("a-1", "a");
  Put("b-0", "b");
  api_.PutPod(api_.MakePod("other", {{"app", "ams"}, {"ams-cluster", "c"}}));
  Step();
  EXPECT_EQ(Names(a_), (std::vector<std::string>{"a-0", "a-1"}));
  EXPECT_EQ(Names(b_), (std::vector<std::string>{"b-0"}));
}

TEST_F(PodViewsTest, APodChangeWakesOnlyItsOwnCluster) {
  Put("a-0", "a");
  Put("b-0", "b");
  Step();
  a_->Snapshot();  // built
  wakes_.clear();
  ASSERT_TRUE(api_.SetPodReady("a-0", false).ok());
  Step();
  EXPECT_EQ(wakes_["a"], 1);
  EXPECT_EQ(wakes_["b"], 0);
  ASSERT_EQ(a_->Snapshot().size(), 1u);
  EXPECT_FALSE(a_->Snapshot()[0].ready) << "the view sees the change";
}

TEST_F(PodViewsTest, APodMovedToAnotherClusterWakesAndUpdatesBoth) {
  Put("p", "a");
  Step();
  EXPECT_EQ(Names(a_), (std::vector<std::string>{"p"}));
  wakes_.clear();
  Put("p", "b");
  Step();
  EXPECT_EQ(wakes_["a"], 1) << "it left cluster a";
  EXPECT_EQ(wakes_["b"], 1) << "it joined cluster b";
  EXPECT_TRUE(Names(a_).empty());
  EXPECT_EQ(Names(b_), (std::vector<std::string>{"p"}));
}

TEST_F(PodViewsTest, ADeletedPodLeavesItsViewAndWakesItsCluster) {
  Put("a-0", "a");
  Put("a-1", "a");
  Step();
  EXPECT_EQ(Names(a_).size(), 2u);
  wakes_.clear();
  ASSERT_TRUE(api_.RemovePod("a-0").ok());
  Step();
  EXPECT_EQ(wakes_["a"], 1);
  EXPECT_EQ(Names(a_), (std::vector<std::string>{"a-1"}));
}

TEST_F(PodViewsTest, ChangesBeforeTheFirstReadAreInTheViews) {
  // The views are built lazily: changes dispatched before anyone read a
  // view must not be lost or applied out of order.
  Put("a-0", "a");
  Step();
  Put("a-1", "a");
  Step();
  ASSERT_TRUE(api_.RemovePod("a-0").ok());
  Step();
  EXPECT_EQ(Names(a_), (std::vector<std::string>{"a-1"}));
}

}  // namespace
}  // namespace amsha
