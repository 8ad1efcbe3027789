#include "kube/label_selector.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

struct MatchCase {
  const char* name;
  const char* selector;
  Labels labels;
  bool matches;
};

class LabelSelectorMatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(LabelSelectorMatchTest, MatchesAsKubernetesDoes) {
  const MatchCase& c = GetParam();
  auto sel = LabelSelector::Parse(c.selector);
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  EXPECT_EQ(sel->Matches(c.labels), c.matches) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LabelSelectorMatchTest,
    ::testing::Values(
        MatchCase{"EqualityMatchesTheSameValue", "app=ams", {{"app", "ams"}}, true},
        MatchCase{"DoubleEqualsIsEquality", "app==ams", {{"app", "ams"}}, true},
        MatchCase{"EqualityFailsOnAnotherValue", "app=ams", {{"app", "x"}}, false},
        MatchCase{"NotEqualsMatchesAMissingKey", "app!=ams", {}, true},
        MatchCase{"InMatchesAnyListedValue", "env in (a, b)", {{"env", "b"}}, true},
        MatchCase{"NotInRejectsAListedValue", "env notin (a,b)", {{"env", "a"}}, false},
        MatchCase{"ExistsNeedsTheKey", "tier", {{"tier", ""}}, true},
        MatchCase{"NotExistsRejectsTheKey", "!tier", {{"tier", "x"}}, false},
        MatchCase{"AllRequirementsMustHold",
                  "app.kubernetes.io/name=amoro, app.kubernetes.io/component in (ams)",
                  {{"app.kubernetes.io/name", "amoro"}, {"app.kubernetes.io/component", "ams"}},
                  true},
        MatchCase{"EmptySelectorMatchesEverything", "", {{"x", "y"}}, true}),
    [](const auto& info) { return info.param.name; });

TEST(LabelSelectorTest, RejectsMalformedSelectorsWithTheReason) {
  for (const char* bad :
       {"app in (a", "app=", "=x", "app=a,", "app ~ x", "app=a b", "-bad=x", "app in a"}) {
    auto sel = LabelSelector::Parse(bad);
    if (std::string(bad) == "app=") {
      // An empty value is valid in Kubernetes: `app=` selects app="".
      EXPECT_TRUE(sel.ok()) << bad;
      continue;
    }
    ASSERT_FALSE(sel.ok()) << bad;
    EXPECT_NE(sel.status().message().find(bad), std::string::npos) << sel.status().message();
  }
}

TEST(LabelSelectorTest, ValidatesLabelValues) {
  EXPECT_TRUE(IsValidLabelValue(""));
  EXPECT_TRUE(IsValidLabelValue("ams-0.x_y"));
  EXPECT_FALSE(IsValidLabelValue("-ams"));
  EXPECT_FALSE(IsValidLabelValue(std::string(64, 'a')));
  EXPECT_TRUE(IsValidLabelValue(std::string(63, 'a')));
  EXPECT_FALSE(IsValidLabelValue("a b"));
}

TEST(LabelSelectorTest, ValidatesLabelKeysWithPrefixes) {
  EXPECT_TRUE(IsValidLabelKey("amoro.apache.org/ha-role"));
  EXPECT_FALSE(IsValidLabelKey("Amoro.org/x"));
  EXPECT_FALSE(IsValidLabelKey("a/b/c"));
  EXPECT_FALSE(IsValidLabelKey("/x"));
}

TEST(LabelSelectorTest, FromMapIsAnEqualitySelector) {
  LabelSelector sel = LabelSelector::FromMap({{"a", "1"}, {"b", "2"}});
  EXPECT_TRUE(sel.Matches({{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_FALSE(sel.Matches({{"a", "1"}}));
}

}  // namespace
}  // namespace amsha
