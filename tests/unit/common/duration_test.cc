#include "common/duration.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesUnitsAndSequences) {
  EXPECT_EQ(ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(ParseDuration("10s"), milliseconds(10000));
  EXPECT_EQ(ParseDuration("1m"), milliseconds(60000));
  EXPECT_EQ(ParseDuration("1h"), milliseconds(3600000));
  EXPECT_EQ(ParseDuration("1m30s"), milliseconds(90000));
  EXPECT_EQ(ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(ParseDuration("0s"), milliseconds(0));
}

TEST(DurationTest, RejectsBareNumbersUnknownUnitsAndSigns) {
  for (const char* bad : {"", "10", "10 s", "-1s", "1d", "s", "1..5s", "fast", "1sx"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(DurationTest, FormatReadsBack) {
  for (int64_t ms : {0, 1, 999, 1000, 1500, 60000, 90000, 3600000, 3723004}) {
    std::string text = FormatDuration(milliseconds(ms));
    EXPECT_EQ(ParseDuration(text), milliseconds(ms)) << text;
  }
  EXPECT_EQ(FormatDuration(milliseconds(90000)), "1m30s");
}

}  // namespace
}  // namespace amsha
