#include "metrics/process_stats.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

// /proc/<pid>/stat of a process whose name holds spaces and parentheses;
// utime 250, stime 50, starttime 1000 ticks, vsize 123456789, rss 2048 pages.
const char kStat[] =
    "4242 (ams ha (ctl)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 1000 "
    "123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

TEST(ProcessStatsTest, FieldsAreCountedFromTheLastParenthesis) {
  auto stats = ParseProcStat(kStat, 100, 4096, 1700000000);
  ASSERT_TRUE(stats);
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(stats->resident_bytes, 2048.0 * 4096);
  EXPECT_DOUBLE_EQ(stats->virtual_bytes, 123456789.0);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1700000010.0);
}

TEST(ProcessStatsTest, StartTimeIsUnknownWithoutTheBootTime) {
  auto stats = ParseProcStat(kStat, 100, 4096, 0);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->start_time_seconds, 0.0);
}

TEST(ProcessStatsTest, TruncatedOrGarbledLinesAreRejected) {
  EXPECT_FALSE(ParseProcStat("4242 (x) S 1 2 3", 100, 4096, 0));
  EXPECT_FALSE(ParseProcStat("no parenthesis at all", 100, 4096, 0));
  std::string garbled = kStat;
  garbled.replace(garbled.find(" 250 "), 5, " x50 ");
  EXPECT_FALSE(ParseProcStat(garbled, 100, 4096, 0));
}

TEST(ProcessStatsTest, BootTimeIsTheBtimeLine) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000.0);
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\n"), 0.0);
}

TEST(ProcessStatsTest, ThisProcessHasMemoryAndDescriptors) {
  ProcessStats stats = ReadProcessStats();
  EXPECT_GT(stats.resident_bytes, 0.0);
  EXPECT_GT(stats.virtual_bytes, stats.resident_bytes);
  EXPECT_GE(stats.open_fds, 3.0);  // stdin, stdout, stderr
  EXPECT_GT(stats.start_time_seconds, 1.6e9);
}

}  // namespace
}  // namespace amsha
