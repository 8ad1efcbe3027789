#include "routing/routing_reconciler.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace amsha
