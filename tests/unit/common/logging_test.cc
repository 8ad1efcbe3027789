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

TEST(LoggingTest, RegisteredSecretsNeverReachALogLine) {
  AddLogSecret("s3cr3t-Pa55");
  AddLogSecret("abc");  // too short to mask without garbling every line
  EXPECT_EQ(MaskLogSecrets("dial failed: password=s3cr3t-Pa55, again s3cr3t-Pa55"),
            "dial failed: password=****, again ****");
  EXPECT_EQ(MaskLogSecrets("abc"), "abc");

  ::testing::internal::CaptureStderr();
  Log(LogLevel::kError, "cannot connect with s3cr3t-Pa55",
      {{"url", "postgresql://u:s3cr3t-Pa55@h"}});
  std::string line = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(line.find("s3cr3t-Pa55"), std::string::npos) << line;
  EXPECT_NE(line.find("cannot connect with ****"), std::string::npos) << line;
  EXPECT_NE(line.find("postgresql://u:****@h"), std::string::npos) << line;
}

TEST(LoggingTest, RotatingTokensNeverPushOutThePassword) {
  AddLogSecret("the-db-password");
  for (int i = 0; i < 100; ++i) AddRotatingLogSecret("token-number-" + std::to_string(i));
  EXPECT_EQ(MaskLogSecrets("the-db-password token-number-99"), "**** ****");
  EXPECT_EQ(MaskLogSecrets("token-number-0"), "token-number-0") << "old tokens are forgotten";
}

}  // namespace
}  // namespace amsha
