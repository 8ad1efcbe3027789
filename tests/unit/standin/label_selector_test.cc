#include "standin/label_selector.h"

#include <gtest/gtest.h>

namespace amsha::standin {
namespace {

LabelSelector MustParse(const std::string& text) {
  auto sel = LabelSelector::Parse(text);
  EXPECT_TRUE(sel.ok()) << text << ": " << sel.status().ToString();
  return sel.ok() ? *sel : LabelSelector();
}

const LabelMap kLeader = {{"app", "ams"}, {"role", "leader"}, {"replicas", "3"}};
const LabelMap kFollower = {{"app", "ams"}, {"role", "follower"}};
const LabelMap kOther = {{"app", "db"}};

TEST(LabelSelectorTest, EmptySelectorMatchesEverything) {
  EXPECT_TRUE(MustParse("").Matches(kLeader));
  EXPECT_TRUE(MustParse("  ").Matches({}));
}

TEST(LabelSelectorTest, EqualityAcceptsSingleAndDoubleEquals) {
  EXPECT_TRUE(MustParse("role=leader").Matches(kLeader));
  EXPECT_TRUE(MustParse("role==leader").Matches(kLeader));
  EXPECT_FALSE(MustParse("role=leader").Matches(kFollower));
  EXPECT_FALSE(MustParse("role=leader").Matches(kOther));
}

TEST(LabelSelectorTest, InequalityMatchesObjectsWithoutTheKey) {
  auto sel = MustParse("role!=leader");
  EXPECT_FALSE(sel.Matches(kLeader));
  EXPECT_TRUE(sel.Matches(kFollower));
  EXPECT_TRUE(sel.Matches(kOther));
}

TEST(LabelSelectorTest, RequirementsAreAndedAndWhitespaceIsIgnored) {
  auto sel = MustParse(" app = ams ,  role != follower ");
  EXPECT_TRUE(sel.Matches(kLeader));
  EXPECT_FALSE(sel.Matches(kFollower));
  EXPECT_FALSE(sel.Matches(kOther));
  EXPECT_EQ(sel.requirements().size(), 2u);
}

TEST(LabelSelectorTest, InNeedsTheKeyWithOneOfTheValues) {
  auto sel = MustParse("role in (leader, candidate)");
  EXPECT_TRUE(sel.Matches(kLeader));
  EXPECT_FALSE(sel.Matches(kFollower));
  EXPECT_FALSE(sel.Matches(kOther));
}

TEST(LabelSelectorTest, NotInMatchesMissingKeysAndOtherValues) {
  auto sel = MustParse("role notin (leader)");
  EXPECT_FALSE(sel.Matches(kLeader));
  EXPECT_TRUE(sel.Matches(kFollower));
  EXPECT_TRUE(sel.Matches(kOther));
}

TEST(LabelSelectorTest, ExistsAndDoesNotExist) {
  EXPECT_TRUE(MustParse("role").Matches(kFollower));
  EXPECT_FALSE(MustParse("role").Matches(kOther));
  EXPECT_TRUE(MustParse("!role").Matches(kOther));
  EXPECT_FALSE(MustParse("! role").Matches(kLeader));
  EXPECT_TRUE(MustParse("app,!role").Matches(kOther));
}

TEST(LabelSelectorTest, MixesEqualityAndSetBasedRequirements) {
  auto sel = MustParse("app=ams,role in (leader),replicas,!draining");
  EXPECT_TRUE(sel.Matches(kLeader));
  LabelMap draining = kLeader;
  draining["draining"] = "true";
  EXPECT_FALSE(sel.Matches(draining));
}

TEST(LabelSelectorTest, GreaterAndLessThanCompareIntegers) {
  EXPECT_TRUE(MustParse("replicas>2").Matches(kLeader));
  EXPECT_FALSE(MustParse("replicas>3").Matches(kLeader));
  EXPECT_TRUE(MustParse("replicas<4").Matches(kLeader));
  EXPECT_FALSE(MustParse("replicas<4").Matches(kFollower));
}

TEST(LabelSelectorTest, EmptyValueMatchesAnEmptyLabel) {
  EXPECT_TRUE(MustParse("flag=").Matches({{"flag", ""}}));
  EXPECT_FALSE(MustParse("flag=").Matches({{"flag", "x"}}));
  EXPECT_TRUE(MustParse("flag in (a,)").Matches({{"flag", ""}}));
}

TEST(LabelSelectorTest, PrefixedKeysAreAccepted) {
  auto sel = MustParse("app.kubernetes.io/name=amoro");
  EXPECT_TRUE(sel.Matches({{"app.kubernetes.io/name", "amoro"}}));
}

TEST(LabelSelectorTest, RejectsMalformedSelectors) {
  for (const char* bad : {"role in leader", "role in ()", "role in (a", "=x", "a=b=c", "a b", "a,",
                          ",a", "a!", "a in (b c)", "x>y", "-bad=x", "a=-x", "!a=b", "UPPER/x=y"}) {
    EXPECT_FALSE(LabelSelector::Parse(bad).ok()) << bad;
  }
}

TEST(LabelSelectorTest, ErrorsNameThePosition) {
  auto sel = LabelSelector::Parse("app=ams,role in leader");
  ASSERT_FALSE(sel.ok());
  EXPECT_NE(sel.status().message().find("at 16"), std::string::npos) << sel.status().message();
}

TEST(LabelSelectorTest, ServiceSelectorMapNeedsEveryPair) {
  auto sel = LabelSelector::FromMap({{"app", "ams"}, {"role", "leader"}});
  EXPECT_TRUE(sel.Matches(kLeader));
  EXPECT_FALSE(sel.Matches(kFollower));
}

TEST(LabelSelectorTest, EmptyServiceSelectorMatchesNothing) {
  EXPECT_FALSE(LabelSelector::FromMap({}).Matches(kLeader));
}

TEST(LabelSelectorTest, LabelValuesAreLimitedTo63Characters) {
  EXPECT_TRUE(IsValidLabelValue(std::string(63, 'a')));
  EXPECT_FALSE(IsValidLabelValue(std::string(64, 'a')));
  EXPECT_TRUE(IsValidLabelValue(""));
  EXPECT_FALSE(IsValidLabelValue("-a"));
}

}  // namespace
}  // namespace amsha::standin
