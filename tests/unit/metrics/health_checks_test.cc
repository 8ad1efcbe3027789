#include "metrics/health_checks.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace amsha {
namespace {

using std::chrono::seconds;

class HealthChecksTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  HealthChecks health_{&clock_, std::chrono::seconds(60)};
};

TEST_F(HealthChecksTest, LiveWhileEveryLoopPassedWithinTheBound) {
  MonoTime elector = clock_.Now();
  MonoTime cluster = clock_.Now();
  health_.AddLoop("controller elector", [&] { return elector; });
  health_.AddLoop("cluster prod", [&] { return cluster; });
  clock_.Advance(seconds(59));
  HealthAnswer answer = health_.Live();
  EXPECT_TRUE(answer.ok);
  EXPECT_EQ(answer.message, "ok: 2 loops turning");
}

TEST_F(HealthChecksTest, ALoopThatStopsTurningMakesTheProcessStalledAndIsNamed) {
  MonoTime elector = clock_.Now();
  MonoTime cluster = clock_.Now();
  health_.AddLoop("controller elector", [&] { return elector; });
  health_.AddLoop("cluster prod", [&] { return cluster; });
  clock_.Advance(seconds(75));
  elector = clock_.Now();  // still turning
  HealthAnswer answer = health_.Live();
  EXPECT_FALSE(answer.ok);
  EXPECT_EQ(answer.message, "stalled: cluster prod last pass 75s ago (bound 60s)");
  cluster = clock_.Now();
  EXPECT_TRUE(health_.Live().ok) << "recovers as soon as the loop turns again";
}

TEST_F(HealthChecksTest, ALoopThatNeverPassedIsJudgedFromWhenItWasRegistered) {
  health_.AddLoop("cluster prod", [] { return MonoTime{}; });
  clock_.Advance(seconds(30));
  EXPECT_TRUE(health_.Live().ok) << "start-up is not a stall";
  clock_.Advance(seconds(31));
  HealthAnswer answer = health_.Live();
  EXPECT_FALSE(answer.ok);
  EXPECT_EQ(answer.message, "stalled: cluster prod has not passed in 61s (bound 60s)");
}

TEST_F(HealthChecksTest, ReadyOnlyWhenEveryConditionHoldsAndSaysWhichDoNot) {
  ConditionCell database("not reached yet");
  bool synced = false;
  health_.AddCondition("config", [] { return ""; });
  health_.AddCondition("database", [&] { return database.Problem(); });
  health_.AddCondition("pod watch prod", [&] { return synced ? "" : "not synced"; });

  HealthAnswer answer = health_.Ready();
  EXPECT_FALSE(answer.ok);
  EXPECT_EQ(answer.message, "not ready: database: not reached yet; pod watch prod: not synced");

  database.Set("");
  synced = true;
  answer = health_.Ready();
  EXPECT_TRUE(answer.ok);
  EXPECT_EQ(answer.message, "ready: config, database, pod watch prod");
}

TEST_F(HealthChecksTest, TheReadinessAnswerIsOneLine) {
  health_.AddCondition("database", [] { return std::string("Unavailable: a\nb\r\nc"); });
  EXPECT_EQ(health_.Ready().message.find('\n'), std::string::npos);
}

TEST(HeartbeatTest, RemembersTheLastBeat) {
  FakeClock clock;
  Heartbeat beat(&clock);
  EXPECT_EQ(beat.Last(), MonoTime{});
  clock.Advance(seconds(3));
  beat.Beat();
  EXPECT_EQ(beat.Last(), clock.Now());
}

}  // namespace
}  // namespace amsha
