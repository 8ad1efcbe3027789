#include "common/logging.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

TEST(LoggingTest, TextLinesQuoteValuesWithSpaces) {
  std::string line = FormatLogLine(LogFormat::kText, LogLevel::kInfo, "T", "leader elected",
                                   {{"cluster", "prod"}, {"reason", "pod deleted"}});
  EXPECT_EQ(line, "T info leader elected cluster=prod reason=\"pod deleted\"");
}

TEST(LoggingTest, JsonLinesEscapeQuotesAndNewlines) {
  std::string line =
      FormatLogLine(LogFormat::kJson, LogLevel::kWarn, "T", "a \"b\"\n", {{"k", "v\\"}});
  EXPECT_EQ(line, R"({"ts":"T","level":"warn","msg":"a \"b\"\n","k":"v\\"})");
}

TEST(LoggingTest, ParsesOnlyKnownLevelsAndFormats) {
  LogLevel level;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("verbose", &level));
  LogFormat format;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml", &format));
}

}  // namespace
}  // namespace amsha
