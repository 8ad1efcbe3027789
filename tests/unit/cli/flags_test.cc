#include "cli/flags.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

TEST(FlagsTest, ReadsBothSpellingsAndTheRestAfterDoubleDash) {
  auto f = ParseFlags({"--config", "c.yaml", "--output=json", "--verbose", "--", "java", "-jar"},
                      {"config", "output"}, {"verbose"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Get("config"), "c.yaml");
  EXPECT_EQ(f->Get("output"), "json");
  EXPECT_TRUE(f->Has("verbose"));
  EXPECT_EQ(f->rest, (std::vector<std::string>{"java", "-jar"}));
}

TEST(FlagsTest, NamesTheUnknownFlag) {
  auto f = ParseFlags({"--confg", "c.yaml"}, {"config"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "unknown flag --confg");
}

TEST(FlagsTest, AFlagWithoutItsValueIsAnError) {
  auto f = ParseFlags({"--config"}, {"config"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "flag --config needs a value");
}

TEST(FlagsTest, PositionalArgumentsAreRejected) {
  EXPECT_FALSE(ParseFlags({"c.yaml"}, {"config"}).ok());
}

}  // namespace
}  // namespace amsha
