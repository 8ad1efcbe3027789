#include "election/pod_identity.h"

#include <gtest/gtest.h>

#include "kube/label_selector.h"
#include "support/pod_builder.h"

namespace amsha {
namespace {

using testing::PodBuilder;

TEST(PodIdentityTest, NodeIdIsAmorosHostPortUuidWithThePodUid) {
  Pod pod = PodBuilder("ams-0").Ip("10.1.2.3").Uid("6f1c-42");
  EXPECT_EQ(NodeIdFor(pod, 1261), "10.1.2.3:1261:6f1c-42");
  EXPECT_EQ(UidFromNodeId("10.1.2.3:1261:6f1c-42"), "6f1c-42");
}

TEST(PodIdentityTest, UidSurvivesIpv6PodIps) {
  EXPECT_EQ(UidFromNodeId("fd00::12:1261:6f1c"), "6f1c");
  EXPECT_EQ(UidFromNodeId("no-colons"), "");
}

TEST(PodIdentityTest, HolderCarriesAmorosServerInfoJson) {
  ClusterConfig cluster;
  Pod pod = PodBuilder("ams-0").Ip("10.1.2.3").Uid("u1");
  LeaseHolder holder = HolderFor(pod, cluster);
  EXPECT_EQ(holder.node_ip, "10.1.2.3");
  EXPECT_EQ(holder.server_info_json,
            R"({"host":"10.1.2.3","thriftBindPort":1260,"restBindPort":1630})");
}

TEST(PodIdentityTest, ShortPodNamesAreTheirOwnLabelValue) {
  EXPECT_EQ(PodIdentityLabelValue("ams-0"), "ams-0");
}

TEST(PodIdentityTest, LongPodNamesGetAValidStableHashedValue) {
  std::string a(80, 'a'), b(80, 'a');
  b.back() = 'b';
  std::string va = PodIdentityLabelValue(a);
  EXPECT_TRUE(IsValidLabelValue(va)) << va;
  EXPECT_LE(va.size(), 63u);
  EXPECT_EQ(va, PodIdentityLabelValue(a));
  EXPECT_NE(va, PodIdentityLabelValue(b));
}

TEST(PodIdentityTest, NamesThatAreNotLabelValuesAreHashed) {
  std::string v = PodIdentityLabelValue("-odd.name-");
  EXPECT_TRUE(IsValidLabelValue(v)) << v;
}

}  // namespace
}  // namespace amsha
