// cpprest's U() macro would break gtest's templates.
#define _TURN_OFF_PLATFORM_STRING
#include "standin/field_owners.h"

#include <gtest/gtest.h>

#include "standin/schema.h"

namespace amsha::standin {
namespace {

Json J(const std::string& text) { return *ParseJson(text); }

TEST(LeafFieldsTest, MapsKeysListsByMergeKeyAndLeavesIdentityOut) {
  auto leaves = LeafFields(J(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s",
      "uid":"u","labels":{"app.kubernetes.io/name":"amoro"}},"spec":{"type":"ClusterIP",
      "ports":[{"port":1630,"name":"rest"}],"ipFamilies":["IPv4"]},"status":{}})"));
  std::vector<std::string> paths;
  for (const auto& [path, value] : leaves) paths.push_back(path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/metadata/labels/app.kubernetes.io~1name",
                                             "/spec/ipFamilies", "/spec/ports[port=1630]",
                                             "/spec/ports[port=1630]/name", "/spec/type"}));
}

TEST(FieldOwnersTest, AnUpdateTakesTheFieldsItChangesFromEveryoneElse) {
  FieldOwners owners;
  Json created = J(R"({"spec":{"selector":{"role":"leader","pod":"None"}}})");
  owners.RecordUpdate("helm", Json::null(), created);
  owners.RecordUpdate("controller", created,
                      J(R"({"spec":{"selector":{"role":"leader","pod":"ams-0"}}})"));
  EXPECT_EQ(owners.OwnersOf("/spec/selector/pod"), std::set<std::string>{"controller"});
  EXPECT_EQ(owners.OwnersOf("/spec/selector/role"), std::set<std::string>{"helm"})
      << "an unchanged value keeps its owner";
}

TEST(FieldOwnersTest, AnApplyReleasesOnlyWhatItAloneOwned) {
  FieldOwners owners;
  Json live = J(R"({"metadata":{"labels":{"a":"1"}}})");
  ASSERT_TRUE(
      owners
          .Apply("Service", "flux", J(R"({"metadata":{"labels":{"a":"1","b":"2"}}})"), false, &live)
          .ok());
  owners.RecordUpdate("kubectl", live, J(R"({"metadata":{"labels":{"a":"1","b":"2","c":"3"}}})"));
  live = J(R"({"metadata":{"labels":{"a":"1","b":"2","c":"3"}}})");
  ASSERT_TRUE(
      owners.Apply("Service", "flux", J(R"({"metadata":{"labels":{"a":"1"}}})"), false, &live)
          .ok());
  EXPECT_EQ(live.at("metadata").at("labels").serialize(), R"({"a":"1","c":"3"})");
}

TEST(SchemaTest, ReportsAndDropsUnknownFieldsWithTheServersPaths) {
  Json svc = J(R"({"metadata":{"name":"s","lables":{}},"spec":{"ports":[{"port":1,"nmae":"x"}]}})");
  EXPECT_EQ(UnknownFields("services", &svc, true),
            (std::vector<std::string>{"metadata.lables", "spec.ports[0].nmae"}));
  EXPECT_TRUE(UnknownFields("services", &svc, false).empty()) << "dropped";
  Json pod = J(R"({"metadata":{"name":"p"},"spec":{"anything":1},"status":{"x":1}})");
  EXPECT_TRUE(UnknownFields("pods", &pod, false).empty()) << "a pod's spec is not modelled";
}

}  // namespace
}  // namespace amsha::standin
