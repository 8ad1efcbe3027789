#define _TURN_OFF_PLATFORM_STRING  // cpprest's U() would break gtest
#include "standin/patch.h"

#include <gtest/gtest.h>

namespace amsha::standin {
namespace {

Json J(const std::string& text) { return Json::parse(text); }

Json Pod() {
  return J(R"({"metadata":{"name":"p","labels":{"a":"1","b":"2"}},"spec":{"x":[1,2]}})");
}

TEST(PatchTest, MergePatchSetsAndRemovesKeys) {
  Json pod = Pod();
  ASSERT_TRUE(ApplyPatch("application/merge-patch+json",
                         R"({"metadata":{"labels":{"a":null,"c":"3"}}})", &pod)
                  .ok());
  EXPECT_EQ(pod.at("metadata").at("labels"), J(R"({"b":"2","c":"3"})"));
  EXPECT_EQ(pod.at("metadata").at("name").as_string(), "p");
}

TEST(PatchTest, MergePatchReplacesLists) {
  Json pod = Pod();
  ASSERT_TRUE(ApplyPatch("application/merge-patch+json", R"({"spec":{"x":[3]}})", &pod).ok());
  EXPECT_EQ(pod.at("spec").at("x"), J("[3]"));
}

TEST(PatchTest, StrategicMergePatchOfLabelsActsLikeMergePatch) {
  Json pod = Pod();
  ASSERT_TRUE(ApplyPatch("application/strategic-merge-patch+json; charset=utf-8",
                         R"({"metadata":{"labels":{"b":null}}})", &pod)
                  .ok());
  EXPECT_EQ(pod.at("metadata").at("labels"), J(R"({"a":"1"})"));
}

TEST(PatchTest, JsonPatchAppliesEveryOperation) {
  Json pod = Pod();
  ApiError err = ApplyPatch("application/json-patch+json", R"([
      {"op":"test","path":"/metadata/labels/a","value":"1"},
      {"op":"add","path":"/metadata/labels/c~1d","value":"4"},
      {"op":"replace","path":"/metadata/labels/b","value":"5"},
      {"op":"remove","path":"/metadata/labels/a"},
      {"op":"add","path":"/spec/x/1","value":9},
      {"op":"add","path":"/spec/x/-","value":7},
      {"op":"copy","from":"/metadata/name","path":"/spec/name"},
      {"op":"move","from":"/spec/name","path":"/spec/moved"}])",
                            &pod);
  ASSERT_TRUE(err.ok()) << err.message;
  EXPECT_EQ(pod.at("metadata").at("labels"), J(R"({"b":"5","c/d":"4"})"));
  EXPECT_EQ(pod.at("spec"), J(R"({"x":[1,9,2,7],"moved":"p"})"));
}

TEST(PatchTest, FailedJsonPatchTestIsUnprocessable) {
  Json pod = Pod();
  ApiError err = ApplyPatch("application/json-patch+json",
                            R"([{"op":"test","path":"/metadata/labels/a","value":"2"}])", &pod);
  EXPECT_EQ(err.code, 422);
  EXPECT_EQ(err.reason, "Invalid");
}

TEST(PatchTest, JsonPatchOnMissingPathIsUnprocessable) {
  Json pod = Pod();
  EXPECT_EQ(ApplyPatch("application/json-patch+json",
                       R"([{"op":"remove","path":"/metadata/labels/zzz"}])", &pod)
                .code,
            422);
  EXPECT_EQ(ApplyPatch("application/json-patch+json",
                       R"([{"op":"replace","path":"/nope/x","value":1}])", &pod)
                .code,
            422);
}

TEST(PatchTest, UndecodableBodiesAreBadRequests) {
  Json pod = Pod();
  EXPECT_EQ(ApplyPatch("application/merge-patch+json", "{", &pod).code, 400);
  EXPECT_EQ(ApplyPatch("application/json-patch+json", R"({"op":"add"})", &pod).code, 400);
  EXPECT_EQ(ApplyPatch("application/json-patch+json", R"([{"op":"jump","path":"/a"}])", &pod).code,
            400);
  EXPECT_EQ(ApplyPatch("application/merge-patch+json", "[1]", &pod).code, 400);
}

TEST(PatchTest, UnknownContentTypeIsUnsupportedMediaType) {
  Json pod = Pod();
  ApiError err = ApplyPatch("application/apply-patch+yaml", "{}", &pod);
  EXPECT_EQ(err.code, 415);
  EXPECT_EQ(err.reason, "UnsupportedMediaType");
  EXPECT_EQ(pod, Pod());
}

}  // namespace
}  // namespace amsha::standin
