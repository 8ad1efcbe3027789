#include "routing/desired_state.h"

#include <gtest/gtest.h>

#include "support/pod_builder.h"

namespace amsha {
namespace {

using testing::PodBuilder;

const LabelsConfig kLabels;

TEST(DesiredStateTest, ALeaderIsLabelledLeaderWithItsIdentity) {
  Pod pod = PodBuilder("ams-0");
  LabelPatch patch = PodLabelPatch(pod, kLabels, /*is_leader=*/true);
  EXPECT_EQ(patch, (LabelPatch{{"amoro.apache.org/ha-role", "leader"},
                               {"amoro.apache.org/ha-pod", "ams-0"}}));
}

TEST(DesiredStateTest, APodThatAlreadyAgreesNeedsNoPatch) {
  Pod pod = PodBuilder("ams-1")
                .Label("amoro.apache.org/ha-role", "follower")
                .Label("amoro.apache.org/ha-pod", "ams-1");
  EXPECT_TRUE(PodLabelPatch(pod, kLabels, false).empty());
  EXPECT_EQ(PodLabelPatch(pod, kLabels, true),
            (LabelPatch{{"amoro.apache.org/ha-role", "leader"}}));
}

TEST(DesiredStateTest, TheSelectorNamesTheLeadersIdentitySoAStaleLeaderLabelSelectsNothing) {
  Pod new_leader = PodBuilder("ams-1")
                       .Label("amoro.apache.org/ha-role", "leader")
                       .Label("amoro.apache.org/ha-pod", "ams-1");
  Pod stale = PodBuilder("ams-0")
                  .Label("amoro.apache.org/ha-role", "leader")
                  .Label("amoro.apache.org/ha-pod", "ams-0");
  Labels selector = DesiredSelector(kLabels, &new_leader);
  EXPECT_EQ(SelectedPods(selector, {stale, new_leader}), std::vector<std::string>{"ams-1"});
}

TEST(DesiredStateTest, WithoutALeaderTheSelectorSelectsNoPod) {
  Pod pod = PodBuilder("none")
                .Label("amoro.apache.org/ha-role", "leader")
                .Label("amoro.apache.org/ha-pod", "none");
  EXPECT_TRUE(SelectedPods(DesiredSelector(kLabels, nullptr), {pod}).empty());
}

TEST(DesiredStateTest, AnnotationsNameTheLeaderAndTheTransitionTimeOnlyWhenItChanges) {
  Service svc;
  Pod leader = PodBuilder("ams-1");
  LabelPatch first = ServiceAnnotationPatch(svc, &leader, "ip:1261:u", "2026-01-01T00:00:00Z");
  EXPECT_EQ(first[kLeaderAnnotation], "ams-1");
  EXPECT_EQ(first[kNodeIdAnnotation], "ip:1261:u");
  EXPECT_EQ(first[kTransitionAnnotation], "2026-01-01T00:00:00Z");
  svc.annotations = {{kLeaderAnnotation, "ams-1"}, {kNodeIdAnnotation, "ip:1261:u"}};
  EXPECT_TRUE(ServiceAnnotationPatch(svc, &leader, "ip:1261:u", "later").empty());
  LabelPatch none = ServiceAnnotationPatch(svc, nullptr, "", "t2");
  EXPECT_EQ(none[kLeaderAnnotation], std::nullopt);
  EXPECT_EQ(none[kNodeIdAnnotation], std::nullopt);
  EXPECT_EQ(none.count(kLeaderAnnotation), 1u) << "removed, not left stale";
}

TEST(DesiredStateTest, DetectsIdentityCollisions) {
  EXPECT_TRUE(IdentityCollisions({PodBuilder("a"), PodBuilder("b")}).empty());
  EXPECT_EQ(IdentityCollisions({PodBuilder("a"), PodBuilder("a")}).size(), 2u);
}

}  // namespace
}  // namespace amsha
