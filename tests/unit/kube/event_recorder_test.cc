#include "kube/event_recorder.h"

#include <gtest/gtest.h>

#include "support/fake_kube_api.h"

namespace amsha {
namespace {

class EventRecorderTest : public ::testing::Test {
 protected:
  EventRecorderTest() : api_("ams"), recorder_(&api_, &clock_, "controller-0") {}

  Status Record(const std::string& name, const std::string& reason, const std::string& message) {
    Event e;
    e.involved_object = {"Service", name, "", "uid-" + name};
    e.reason = reason;
    e.action = "Route";
    e.message = message;
    return recorder_.Record(e);
  }

  FakeClock clock_;
  FakeKubeApi api_;
  EventRecorder recorder_;
};

TEST_F(EventRecorderTest, AFirstEventIsCreatedWithRecorderNameAndReportingFields) {
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "routing to ams-0").ok());
  std::vector<Event> events = api_.Events();
  ASSERT_EQ(events.size(), 1u);
  const Event& e = events[0];
  EXPECT_EQ(e.name.rfind("ams-leader.", 0), 0u) << e.name;
  EXPECT_EQ(e.involved_object.namespace_name, "ams");
  EXPECT_EQ(e.reporting_component, "ams-ha-controller");
  EXPECT_EQ(e.reporting_instance, "controller-0");
  EXPECT_EQ(e.count, 1);
  EXPECT_EQ(e.first_time, clock_.WallNow());
}

TEST_F(EventRecorderTest, RepeatsWithinTheWindowPatchOneEventsSeries) {
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "routing to ams-0").ok());
  clock_.Advance(std::chrono::seconds(10));
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "routing to ams-1").ok());
  clock_.Advance(std::chrono::seconds(10));
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "routing to ams-2").ok());
  std::vector<Event> events = api_.Events();
  ASSERT_EQ(events.size(), 1u) << "one object for the burst";
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kCreateEvent), 1);
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchEventSeries), 2);
  const Event& e = events[0];
  EXPECT_EQ(e.count, 3);
  EXPECT_EQ(e.message, "routing to ams-2");
  EXPECT_EQ(e.last_time - e.first_time, std::chrono::seconds(20));
}

TEST_F(EventRecorderTest, OtherReasonsAndObjectsAreOtherEvents) {
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "x").ok());
  ASSERT_TRUE(Record("ams-leader", "FailingOver", "x").ok());
  ASSERT_TRUE(Record("other", "LeaderElected", "x").ok());
  EXPECT_EQ(api_.Events().size(), 3u);
}

TEST_F(EventRecorderTest, ASeriesEndsAfterSixQuietMinutes) {
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "x").ok());
  clock_.Advance(EventRecorder::kSeriesWindow + std::chrono::seconds(1));
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "y").ok());
  ASSERT_EQ(api_.Events().size(), 2u);
  EXPECT_EQ(api_.Events()[1].count, 1);
  EXPECT_NE(api_.Events()[0].name, api_.Events()[1].name);
}

TEST_F(EventRecorderTest, AnEventGoneFromTheServerIsCreatedAgainWithItsCount) {
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "x").ok());
  api_.FailNext(FakeKubeApi::Method::kPatchEventSeries, 1, NotFoundError("events not found"));
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "y").ok());
  ASSERT_EQ(api_.Events().size(), 2u);
  EXPECT_EQ(api_.Events()[1].count, 2);
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "z").ok());
  EXPECT_EQ(api_.Events()[1].count, 3) << "the new object carries the series on";
}

TEST_F(EventRecorderTest, AFailedCreateIsRetriedAsACreate) {
  api_.FailNext(FakeKubeApi::Method::kCreateEvent, 1, UnavailableError("down"));
  EXPECT_EQ(Record("ams-leader", "LeaderElected", "x").code(), StatusCode::kUnavailable);
  ASSERT_TRUE(Record("ams-leader", "LeaderElected", "x").ok());
  ASSERT_EQ(api_.Events().size(), 1u);
  EXPECT_EQ(api_.Events()[0].count, 1);
}

TEST_F(EventRecorderTest, ALongIdentityIsCutToTheServersLimit) {
  EventRecorder recorder(&api_, &clock_, std::string(300, 'c'));
  Event e;
  e.involved_object = {"Pod", "ams-0", "", "u"};
  e.reason = "LeaderElected";
  e.action = "Elect";
  ASSERT_TRUE(recorder.Record(e).ok());
  EXPECT_EQ(api_.Events()[0].reporting_instance.size(), EventRecorder::kMaxReportingInstance);
}

TEST(EventNameTest, IsTheObjectNameAndHexNanosecondsWithinTheNameLimit) {
  WallTime t{std::chrono::seconds(1'800'000'000)};
  EXPECT_EQ(EventName({"Pod", "ams-1", "ams", ""}, t), "ams-1.18fae27693b40000");
  EXPECT_LE(EventName({"Pod", std::string(253, 'a'), "ams", ""}, t).size(), 253u);
}

}  // namespace
}  // namespace amsha
