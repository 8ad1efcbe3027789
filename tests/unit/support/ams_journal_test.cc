#include "support/ams_journal.h"

#include <gtest/gtest.h>

namespace amsha::testing {
namespace {

TEST(AmsJournalTest, HandOversEndToEndDoNotOverlapAndYieldTheirGaps) {
  AmsJournal j = AmsJournal::Parse(
      "start 100 ams-0\nstop 2000000 ams-0\nstart 5000000 ams-1\nstop 9000000 ams-1\n"
      "start 9000000 ams-2\n");
  EXPECT_EQ(j.FirstOverlap(), "");
  EXPECT_EQ(j.Active(), std::vector<std::string>{"ams-2"});
  EXPECT_EQ(j.GapsMs(), (std::vector<double>{3.0, 0.0}));
  EXPECT_EQ(j.malformed(), "");
}

TEST(AmsJournalTest, FindsTwoActiveAtOnce) {
  AmsJournal j = AmsJournal::Parse("start 10 ams-0\nstart 20 ams-1\nstop 30 ams-0\n");
  EXPECT_EQ(j.FirstOverlap(), "ams-0 active from 10 until 30, ams-1 started at 20");
  EXPECT_TRUE(j.GapsMs().empty()) << "no gap where AMS never stopped";
}

TEST(AmsJournalTest, AnIntervalThatNeverStoppedOverlapsEveryLaterStart) {
  AmsJournal j = AmsJournal::Parse("start 10 ams-0\nstart 50 ams-1\nstop 60 ams-1\n");
  EXPECT_EQ(j.FirstOverlap(), "ams-0 active from 10 and never stopped, ams-1 started at 50");
}

TEST(AmsJournalTest, ALongIntervalIsNotForgottenBehindAShortOne) {
  AmsJournal j = AmsJournal::Parse(
      "start 10 ams-0\nstart 20 ams-1\nstop 25 ams-1\nstart 30 ams-2\n"
      "stop 100 ams-0\n");
  EXPECT_NE(j.FirstOverlap(), "");
  EXPECT_NE(j.FirstOverlap().find("ams-0"), std::string::npos);
}

TEST(AmsJournalTest, ReportsLinesThatMakeNoSense) {
  AmsJournal j = AmsJournal::Parse("start 1 a\nstart 2 a\nstop 3 b\nbogus\n");
  EXPECT_NE(j.malformed().find("a started twice"), std::string::npos);
  EXPECT_NE(j.malformed().find("b stopped without a start"), std::string::npos);
  EXPECT_NE(j.malformed().find("line 4"), std::string::npos);
}

TEST(AmsJournalTest, AMissingFileIsAnEmptyJournal) {
  AmsJournal j = AmsJournal::Read("/nonexistent/journal");
  EXPECT_TRUE(j.intervals().empty());
  EXPECT_EQ(j.FirstOverlap(), "");
}

}  // namespace
}  // namespace amsha::testing
