#include "routing/routing_reconciler.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "kube/service_watcher.h"
#include "routing/desired_state.h"
#include "support/fake_kube_api.h"

namespace amsha {
namespace {

class RoutingReconcilerTest : public ::testing::Test {
 protected:
  RoutingReconcilerTest() : api_("ams") {
    cluster_.name = "prod";
    cluster_.service = "ams-leader";
    for (const char* name : {"ams-0", "ams-1", "ams-2"}) {
      api_.PutPod(api_.MakePod(name, {{"app", "amoro"}}));
    }
    Service svc;
    svc.name = "ams-leader";
    svc.namespace_name = "ams";
    api_.PutService(svc);
    reconciler_ = std::make_unique<RoutingReconciler>(cluster_, labels_, &api_);
  }

  RoutingResult RouteTo(const std::string& name) {
    std::vector<Pod> pods = api_.Pods();
    const Pod* leader = nullptr;
    for (const Pod& p : pods) {
      if (p.name == name) leader = &p;
    }
    return reconciler_->Reconcile(leader, leader ? "ip:1261:" + leader->uid : "", pods,
                                  "2026-01-01T00:00:00Z");
  }
  // The pods the Service selects in the fake API right now.
  std::vector<std::string> Selected() const {
    return SelectedPods(api_.FindService("ams-leader")->selector, api_.Pods());
  }
  std::string Role(const std::string& pod) const {
    return api_.FindPod(pod)->labels.at(labels_.role);
  }

  FakeKubeApi api_;
  ClusterConfig cluster_;
  LabelsConfig labels_;
  std::unique_ptr<RoutingReconciler> reconciler_;
};

TEST_F(RoutingReconcilerTest, RoutesTheServiceToTheLeaderAndLabelsTheOthersFollowers) {
  RoutingResult r = RouteTo("ams-1");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.selector_changed);
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-1"});
  EXPECT_EQ(r.routed, std::vector<std::string>{"ams-1"});
  EXPECT_EQ(Role("ams-1"), "leader");
  EXPECT_EQ(Role("ams-0"), "follower");
  EXPECT_EQ(Role("ams-2"), "follower");
  Service svc = *api_.FindService("ams-leader");
  EXPECT_EQ(svc.annotations.at(kLeaderAnnotation), "ams-1");
  EXPECT_EQ(svc.annotations.at(kTransitionAnnotation), "2026-01-01T00:00:00Z");
}

TEST_F(RoutingReconcilerTest, PatchesNothingWhenTheClusterAlreadyAgrees) {
  RouteTo("ams-1");
  api_.ClearCalls();
  RoutingResult r = RouteTo("ams-1");
  EXPECT_EQ(r.patches, 0);
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchPodLabels), 0);
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchService), 0);
}

TEST_F(RoutingReconcilerTest, NeverSelectsTwoPodsDuringAHandOver) {
  RouteTo("ams-0");
  int max_selected = 0;
  api_.SetCallHook(
      [&](FakeKubeApi::Method) { max_selected = std::max<int>(max_selected, Selected().size()); });
  RoutingResult r = RouteTo("ams-1");
  api_.SetCallHook(nullptr);
  max_selected = std::max<int>(max_selected, Selected().size());
  ASSERT_TRUE(r.status.ok());
  EXPECT_LE(max_selected, 1);
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-1"});
  EXPECT_EQ(Role("ams-0"), "follower");
}

TEST_F(RoutingReconcilerTest, AStaleLeaderLabelOnTheOldPodIsNeverSelected) {
  RouteTo("ams-0");
  api_.FailNext(FakeKubeApi::Method::kPatchPodLabels, 2, UnavailableError("api down"));
  // ams-1 cannot be labelled and ams-0 keeps its leader label: the Service
  // must still leave ams-0.
  RoutingResult r = RouteTo("ams-1");
  EXPECT_TRUE(r.status.IsUnavailable());
  EXPECT_EQ(Role("ams-0"), "leader");
  EXPECT_TRUE(Selected().empty());
  RoutingResult retry = RouteTo("ams-1");
  EXPECT_TRUE(retry.status.ok());
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-1"});
}

TEST_F(RoutingReconcilerTest, WithoutALeaderTheServiceSelectsNoPod) {
  RouteTo("ams-0");
  RoutingResult r = RouteTo("");
  EXPECT_TRUE(r.status.ok());
  EXPECT_TRUE(Selected().empty());
  EXPECT_EQ(Role("ams-0"), "follower");
  EXPECT_EQ(api_.FindService("ams-leader")->annotations.count(kLeaderAnnotation), 0u);
}

TEST_F(RoutingReconcilerTest, AMissingServiceIsReportedWithTheFix) {
  cluster_.service = "missing";
  RoutingReconciler reconciler(cluster_, labels_, &api_);
  std::vector<Pod> pods = api_.Pods();
  RoutingResult r = reconciler.Reconcile(&pods[0], "n", pods, "");
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  EXPECT_NE(r.status.message().find("Service missing not found in namespace ams"),
            std::string::npos)
      << r.status.message();
}

TEST_F(RoutingReconcilerTest, AConflictOnTheServiceIsReturnedNotRetriedWithTheOldDecision) {
  api_.FailNext(FakeKubeApi::Method::kPatchService, 1, ConflictError("409"));
  RoutingResult r = RouteTo("ams-2");
  EXPECT_TRUE(r.status.IsConflict()) << r.status.ToString();
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchService), 1);
  EXPECT_TRUE(Selected().empty()) << "the caller re-reads the lease and decides again";
}

TEST_F(RoutingReconcilerTest, TheServicePatchIsGuardedByTheResourceVersionJustRead) {
  RouteTo("ams-2");
  auto patches = api_.CallsOf(FakeKubeApi::Method::kPatchService);
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].detail.find("expectedRv= "), std::string::npos) << patches[0].detail;
  EXPECT_NE(patches[0].detail.find("expectedRv="), std::string::npos) << patches[0].detail;
}

// --- With the Service watch cache ---

class RoutingReconcilerWithCacheTest : public RoutingReconcilerTest {
 protected:
  RoutingReconcilerWithCacheTest() : services_(&api_, ServiceWatcher::Options(), &clock_) {
    reconciler_ = std::make_unique<RoutingReconciler>(cluster_, labels_, &api_, &services_);
    services_.Step(never_);  // the first list
  }

  // Lets the watch deliver what happened since it last looked.
  void DeliverWatchEvents() {
    api_.ScriptWatchEnd(Status::Ok());
    services_.Step(never_);
  }
  int Requests() const { return static_cast<int>(api_.Calls().size()); }
  int ServiceCalls(FakeKubeApi::Method m) const { return api_.CallCount(m); }

  FakeClock clock_;
  Cancellation never_;
  ServiceWatcher services_;
};

TEST_F(RoutingReconcilerWithCacheTest, APassWithNothingToChangeSendsNoRequestAtAll) {
  ASSERT_TRUE(RouteTo("ams-1").status.ok());
  DeliverWatchEvents();
  api_.ClearCalls();
  for (int pass = 0; pass < 5; ++pass) {
    RoutingResult r = RouteTo("ams-1");
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.patches, 0);
    EXPECT_EQ(r.routed, std::vector<std::string>{"ams-1"});
  }
  EXPECT_EQ(Requests(), 0);
}

TEST_F(RoutingReconcilerWithCacheTest, TheServiceIsPatchedFromTheCacheWithoutAGet) {
  std::string cached_rv = services_.Get("ams-leader")->resource_version;
  RoutingResult r = RouteTo("ams-1");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kGetService), 0);
  auto patches = api_.CallsOf(FakeKubeApi::Method::kPatchService);
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_NE(patches[0].detail.find("expectedRv=" + cached_rv), std::string::npos)
      << patches[0].detail;
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-1"});
}

TEST_F(RoutingReconcilerWithCacheTest, OnlyTheDifferencesArePatched) {
  RouteTo("ams-1");
  DeliverWatchEvents();
  api_.ClearCalls();
  std::vector<Pod> pods = api_.Pods();
  const Pod* leader = nullptr;
  for (const Pod& p : pods) {
    if (p.name == "ams-1") leader = &p;
  }
  // Same leader, a new AMS node id (AMS restarted): one annotation only.
  RoutingResult r =
      reconciler_->Reconcile(leader, "ip:1261:restarted", pods, "2026-01-01T00:00:00Z");
  ASSERT_TRUE(r.status.ok());
  auto patches = api_.CallsOf(FakeKubeApi::Method::kPatchService);
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_NE(patches[0].detail.find("selector=unchanged"), std::string::npos) << patches[0].detail;
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchPodLabels), 0);
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kGetService), 0);
}

TEST_F(RoutingReconcilerWithCacheTest, OurOwnPatchMakesTheNextPassANoOpBeforeTheWatchDeliversIt) {
  ASSERT_TRUE(RouteTo("ams-2").status.ok());
  EXPECT_EQ(services_.Get("ams-leader")->resource_version,
            api_.FindService("ams-leader")->resource_version);
  api_.ClearCalls();
  RoutingResult r = RouteTo("ams-2");  // the watch has not delivered the patch yet
  EXPECT_EQ(r.patches, 0);
  EXPECT_EQ(Requests(), 0);
}

TEST_F(RoutingReconcilerWithCacheTest, AConflictFromAStaleCacheReadsOnceThenRecovers) {
  RouteTo("ams-0");
  DeliverWatchEvents();
  // Someone else changes the Service; our watch has not delivered it yet.
  ServicePatch theirs;
  theirs.selector = Labels{{"app", "theirs"}};
  ASSERT_TRUE(api_.PatchService("ams-leader", theirs).ok());
  api_.ClearCalls();

  RoutingResult conflict = RouteTo("ams-1");
  EXPECT_TRUE(conflict.status.IsConflict()) << conflict.status.ToString();
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kGetService), 0);

  // The next pass does not patch from the same stale object again: it reads
  // the Service once and patches from what it read.
  api_.ClearCalls();
  RoutingResult retry = RouteTo("ams-1");
  ASSERT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kGetService), 1);
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kPatchService), 1);
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-1"});

  // And from then on the cache serves again.
  api_.ClearCalls();
  EXPECT_EQ(RouteTo("ams-1").patches, 0);
  DeliverWatchEvents();
  api_.ClearCalls();
  EXPECT_EQ(RouteTo("ams-1").patches, 0);
  EXPECT_EQ(Requests(), 0);
}

TEST_F(RoutingReconcilerWithCacheTest, AnExternalSelectorChangeIsUndoneOnceTheWatchDeliversIt) {
  RouteTo("ams-0");
  DeliverWatchEvents();
  std::vector<std::string> woken;
  ServiceWatcher::Listener listener = [&](const ServiceWatcher::Change& c) {
    woken.push_back(c.service.name);
  };
  services_.SetListener(listener);
  ServicePatch theirs;
  theirs.selector = Labels{{"app", "theirs"}};
  ASSERT_TRUE(api_.PatchService("ams-leader", theirs).ok());
  DeliverWatchEvents();
  EXPECT_EQ(woken, std::vector<std::string>{"ams-leader"}) << "the cluster's loop is woken";

  api_.ClearCalls();
  RoutingResult r = RouteTo("ams-0");
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(r.selector_changed);
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kGetService), 0);
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-0"});
}

TEST_F(RoutingReconcilerWithCacheTest, AServiceDeletedBehindTheCacheIsReadAndReportedNextPass) {
  ASSERT_TRUE(api_.RemoveService("ams-leader").ok());  // not delivered yet
  RoutingResult r = RouteTo("ams-1");
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  api_.ClearCalls();
  RoutingResult next = RouteTo("ams-1");
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kGetService), 1);
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kPatchService), 0);
  EXPECT_NE(next.status.message().find("Service ams-leader not found in namespace ams"),
            std::string::npos)
      << next.status.message();
}

TEST_F(RoutingReconcilerWithCacheTest, AnUnsyncedCacheFallsBackToAGet) {
  ServiceWatcher never_synced(&api_, ServiceWatcher::Options(), &clock_);
  RoutingReconciler reconciler(cluster_, labels_, &api_, &never_synced);
  std::vector<Pod> pods = api_.Pods();
  RoutingResult r = reconciler.Reconcile(&pods[1], "n", pods, "");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kGetService), 1);
}

TEST_F(RoutingReconcilerWithCacheTest, AServiceTheCacheDoesNotHoldIsReadAndReportedAsBefore) {
  cluster_.service = "missing";
  RoutingReconciler reconciler(cluster_, labels_, &api_, &services_);
  std::vector<Pod> pods = api_.Pods();
  RoutingResult r = reconciler.Reconcile(&pods[0], "n", pods, "");
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  EXPECT_NE(r.status.message().find("Service missing not found in namespace ams: create it"),
            std::string::npos)
      << r.status.message();
  EXPECT_EQ(ServiceCalls(FakeKubeApi::Method::kGetService), 1);
}

}  // namespace
}  // namespace amsha
