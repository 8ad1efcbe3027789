#include "common/json.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

TEST(JsonTest, ObjectsKeepTheOrderTheirKeysWereSetIn) {
  Json j = Json::Object().Set("z", 1).Set("a", "x").Set("m", true).Set("n", Json::Null());
  EXPECT_EQ(j.Serialize(), R"({"z":1,"a":"x","m":true,"n":null})");
}

TEST(JsonTest, SettingAKeyAgainReplacesItInPlace) {
  Json j = Json::Object().Set("msg", "a").Set("k", "v").Set("msg", "b");
  EXPECT_EQ(j.Serialize(), R"({"msg":"b","k":"v"})");
}

TEST(JsonTest, StringsAreEscaped) {
  EXPECT_EQ(Json(std::string("q\"b\\s\n\t\x01")).Serialize(), R"("q\"b\\s\n\t\u0001")");
  EXPECT_EQ(JsonEscape("a\"b"), R"(a\"b)");
}

TEST(JsonTest, ArraysNestAndLargeNumbersSurvive) {
  Json j = Json::Array().Push(Json::Object().Set("ms", int64_t{1764680000123})).Push("x");
  EXPECT_EQ(j.Serialize(), R"([{"ms":1764680000123},"x"])");
}

TEST(JsonTest, ParseReadsWhatSerializeWrote) {
  std::optional<Json> j = Json::Parse(R"({"pod":"ams-0","n":42,"ok":true,"list":[1,2]})");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->Find("pod")->AsString(), "ams-0");
  EXPECT_EQ(j->Find("n")->AsNumber(), 42);
  EXPECT_TRUE(j->Find("ok")->AsBool());
  EXPECT_EQ(j->Find("missing"), nullptr);
  // cpprestsdk's parser keeps object members sorted by key.
  EXPECT_EQ(j->Serialize(), R"({"list":[1,2],"n":42,"ok":true,"pod":"ams-0"})");
}

TEST(JsonTest, ParseRejectsWhatIsNotJson) {
  EXPECT_FALSE(Json::Parse("{\"a\":"));
  EXPECT_FALSE(Json::Parse(""));
}

TEST(JsonTest, StringMemberReadsOnlyTopLevelStrings) {
  EXPECT_EQ(JsonStringMember(R"({"message":"a \"quoted\"\nline"})", "message"),
            "a \"quoted\"\nline");
  EXPECT_EQ(JsonStringMember(R"({"message":7})", "message"), "");
  EXPECT_EQ(JsonStringMember("not json", "message"), "");
}

}  // namespace
}  // namespace amsha
