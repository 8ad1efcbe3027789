#define _TURN_OFF_PLATFORM_STRING  // cpprest's U() would break gtest
#include "standin/table.h"

#include <gtest/gtest.h>

namespace amsha::standin {
namespace {

TEST(TableTest, OnlyKubectlsTableAcceptHeaderAsksForATable) {
  EXPECT_TRUE(
      WantsTable("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
                 "g=meta.k8s.io,application/json"));
  EXPECT_FALSE(WantsTable("application/json"));
  EXPECT_FALSE(WantsTable(""));
}

TEST(TableTest, AgesReadLikeKubectls) {
  EXPECT_EQ(HumanAge(-5), "0s");
  EXPECT_EQ(HumanAge(45), "45s");
  EXPECT_EQ(HumanAge(119), "119s");
  EXPECT_EQ(HumanAge(303), "5m3s");
  EXPECT_EQ(HumanAge(300), "5m");
  EXPECT_EQ(HumanAge(75 * 60), "75m");
  EXPECT_EQ(HumanAge(3 * 3600 + 120), "3h2m");
  EXPECT_EQ(HumanAge(30 * 3600), "30h");
  EXPECT_EQ(HumanAge(2 * 86400 + 5 * 3600), "2d5h");
  EXPECT_EQ(HumanAge(30 * 86400), "30d");
}

TEST(TableTest, PodRowsShowReadinessStatusAndTerminating) {
  Json pod = Json::parse(R"({"metadata":{"name":"ams-0","resourceVersion":"7",
      "deletionTimestamp":"2030-01-01T00:00:00Z"},"spec":{"nodeName":"n"},
      "status":{"phase":"Running","podIP":"127.0.0.2","containerStatuses":[
      {"ready":true,"restartCount":2}]}})");
  Json table = ToTable("pods", {pod}, "7", "");
  EXPECT_EQ(table.at("kind").as_string(), "Table");
  EXPECT_EQ(table.at("columnDefinitions").size(), 7u);
  const Json& cells = table.at("rows").at(0).at("cells");
  EXPECT_EQ(cells.at(0).as_string(), "ams-0");
  EXPECT_EQ(cells.at(1).as_string(), "1/1");
  EXPECT_EQ(cells.at(2).as_string(), "Terminating");
  EXPECT_EQ(cells.at(3).as_string(), "2");
  EXPECT_EQ(cells.at(5).as_string(), "127.0.0.2");
  EXPECT_EQ(table.at("rows").at(0).at("object").at("kind").as_string(), "PartialObjectMetadata");
  EXPECT_FALSE(ToTable("pods", {pod}, "7", "None").at("rows").at(0).has_field("object"));
}

}  // namespace
}  // namespace amsha::standin
