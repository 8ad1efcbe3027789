#define _TURN_OFF_PLATFORM_STRING  // cpprest's U() would break gtest
#include "standin/store.h"

#include <gtest/gtest.h>

#include "standin/watch_stream.h"

namespace amsha::standin {
namespace {

Json J(const std::string& text) { return Json::parse(text); }

Json PodJson(const std::string& name, const std::string& labels, bool ready = true) {
  return J(
      R"({"metadata":{"name":")" + name + R"(","labels":)" + labels +
      R"(},"spec":{"containers":[{"name":"ams","ports":[{"name":"rest","containerPort":1630}]}]},
              "status":{"podIP":"127.0.0.9","conditions":[{"type":"Ready","status":")" +
      (ready ? "True" : "False") + R"("}]}})");
}

std::string Rv(const Json& obj) { return obj.at("metadata").at("resourceVersion").as_string(); }

ApiError SetLabel(Store& store, const std::string& name, const std::string& key,
                  const std::string& value, Json* out) {
  return store.Update(
      "pods", "ns", name,
      [&](Json* obj) {
        (*obj)["metadata"]["labels"][key] = Json::string(value);
        return Ok();
      },
      out);
}

TEST(StoreTest, EveryWriteBumpsOneGlobalResourceVersion) {
  Store store(100);
  Json a, b, c;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &a).ok());
  ASSERT_TRUE(store.Create("services", "ns", J(R"({"metadata":{"name":"s"}})"), &b).ok());
  ASSERT_TRUE(SetLabel(store, "a", "x", "1", &c).ok());
  EXPECT_EQ(Rv(a), "1");
  EXPECT_EQ(Rv(b), "2");
  EXPECT_EQ(Rv(c), "3");
  EXPECT_EQ(a.at("kind").as_string(), "Pod");
  EXPECT_FALSE(a.at("metadata").at("uid").as_string().empty());
}

TEST(StoreTest, CreatingTwiceIsAlreadyExists) {
  Store store(100);
  Json out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &out).ok());
  ApiError err = store.Create("pods", "ns", PodJson("a", "{}"), &out);
  EXPECT_EQ(err.code, 409);
  EXPECT_EQ(err.reason, "AlreadyExists");
}

TEST(StoreTest, UpdateCarryingAStaleResourceVersionConflicts) {
  Store store(100);
  Json created, out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &created).ok());
  ASSERT_TRUE(SetLabel(store, "a", "x", "1", &out).ok());
  ApiError err = store.Update(
      "pods", "ns", "a",
      [&](Json* obj) {
        *obj = created;  // the old copy, old resourceVersion
        (*obj)["metadata"]["labels"]["x"] = Json::string("2");
        return Ok();
      },
      &out);
  EXPECT_EQ(err.code, 409);
  EXPECT_EQ(err.reason, "Conflict");
}

TEST(StoreTest, UpdateThatChangesNothingWritesNothing) {
  Store store(100);
  Json created, out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", R"({"x":"1"})"), &created).ok());
  ASSERT_TRUE(SetLabel(store, "a", "x", "1", &out).ok());
  EXPECT_EQ(Rv(out), Rv(created));
}

// As the API server: a rename is 400 (checkName), a new uid 422 (field is
// immutable), and an update that leaves the uid or timestamps out keeps them.
TEST(StoreTest, UpdateCannotRenameOrChangeTheUid) {
  Store store(100);
  Json created, out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &created).ok());
  auto update = [&](const char* field, const char* value) {
    return store.Update(
        "pods", "ns", "a",
        [&](Json* obj) {
          (*obj)["metadata"][field] = Json::string(value);
          return Ok();
        },
        &out);
  };
  EXPECT_EQ(update("name", "b").code, 400);
  ApiError uid = update("uid", "u");
  EXPECT_EQ(uid.code, 422);
  EXPECT_EQ(uid.message,
            "Pod \"a\" is invalid: metadata.uid: Invalid value: \"u\": field is immutable");
  ASSERT_TRUE(store
                  .Update(
                      "pods", "ns", "a",
                      [](Json* obj) {
                        obj->at("metadata").erase("uid");
                        obj->at("metadata").erase("creationTimestamp");
                        (*obj)["metadata"]["labels"]["x"] = Json::string("y");
                        return Ok();
                      },
                      &out)
                  .ok());
  EXPECT_EQ(out.at("metadata").at("uid"), created.at("metadata").at("uid"));
  EXPECT_EQ(out.at("metadata").at("creationTimestamp"),
            created.at("metadata").at("creationTimestamp"));
}

TEST(StoreTest, InvalidLabelValueIsRejected) {
  Store store(100);
  Json out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &out).ok());
  ApiError err = SetLabel(store, "a", "x", std::string(64, 'v'), &out);
  EXPECT_EQ(err.code, 422);
}

TEST(StoreTest, WatchFromAnOldVersionReplaysTheWindow) {
  Store store(100);
  Json out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &out).ok());
  ASSERT_TRUE(SetLabel(store, "a", "x", "1", &out).ok());
  ASSERT_TRUE(SetLabel(store, "a", "x", "2", &out).ok());
  std::shared_ptr<WatchQueue> queue;
  std::vector<StoredEvent> backlog;
  ASSERT_TRUE(store.Watch("pods", "ns", "1", &queue, &backlog).ok());
  ASSERT_EQ(backlog.size(), 2u);
  EXPECT_EQ(backlog[0].type, "MODIFIED");
  EXPECT_EQ(backlog[1].rv, 3u);
  ASSERT_TRUE(SetLabel(store, "a", "x", "3", &out).ok());
  auto live = queue->Wait(std::chrono::milliseconds(0));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].rv, 4u);
  store.Unwatch(queue);
}

TEST(StoreTest, WatchFromBeforeTheWindowOrACompactionIsExpired) {
  Store store(2);
  Json out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &out).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(SetLabel(store, "a", "x", std::to_string(i), &out).ok());
  std::shared_ptr<WatchQueue> queue;
  std::vector<StoredEvent> backlog;
  EXPECT_EQ(store.Watch("pods", "ns", "1", &queue, &backlog).code, 410);
  ASSERT_TRUE(store.Watch("pods", "ns", "2", &queue, &backlog).ok());
  store.Unwatch(queue);
  store.Compact();
  backlog.clear();
  EXPECT_EQ(store.Watch("pods", "ns", "3", &queue, &backlog).code, 410);
  ASSERT_TRUE(store.Watch("pods", "ns", "4", &queue, &backlog).ok());
  EXPECT_TRUE(backlog.empty());
  store.Unwatch(queue);
}

TEST(StoreTest, BookmarkWaitsForPendingEvents) {
  Store store(100);
  Json out;
  std::shared_ptr<WatchQueue> queue;
  std::vector<StoredEvent> backlog;
  ASSERT_TRUE(store.Watch("pods", "ns", "0", &queue, &backlog).ok());
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &out).ok());
  EXPECT_EQ(store.BookmarkRv(*queue), "");
  queue->Wait(std::chrono::milliseconds(0));
  EXPECT_EQ(store.BookmarkRv(*queue), "1");
  store.CutWatches();
  EXPECT_TRUE(queue->Cut());
}

TEST(StoreTest, DeleteWithoutGraceRemovesAtOnce) {
  Store store(100);
  Json out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &out).ok());
  ASSERT_TRUE(store.Delete("pods", "ns", "a", 0, &out).ok());
  EXPECT_EQ(store.Get("pods", "ns", "a", &out).code, 404);
}

TEST(StoreTest, DeleteWithGraceMarksThePodFirst) {
  Store store(100);
  Json out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", "{}"), &out).ok());
  ASSERT_TRUE(store.Delete("pods", "ns", "a", 3600, &out).ok());
  ASSERT_TRUE(store.Get("pods", "ns", "a", &out).ok());
  EXPECT_TRUE(Terminating(out));
  EXPECT_EQ(out.at("metadata").at("deletionGracePeriodSeconds").as_integer(), 3600);
  // A second delete with no grace finishes it.
  ASSERT_TRUE(store.Delete("pods", "ns", "a", 0, &out).ok());
  EXPECT_EQ(store.Get("pods", "ns", "a", &out).code, 404);
}

TEST(StoreTest, SelectorRecordListsMatchedAndReadyPods) {
  Store store(100);
  Json out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", R"({"role":"leader"})"), &out).ok());
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("b", R"({})", false), &out).ok());
  ASSERT_TRUE(store
                  .Create("services", "ns",
                          J(R"({"metadata":{"name":"s"},"spec":{"selector":{"role":"leader"}}})"),
                          &out)
                  .ok());
  ASSERT_TRUE(SetLabel(store, "b", "role", "leader", &out).ok());
  ASSERT_TRUE(SetLabel(store, "a", "role", "follower", &out).ok());
  auto record = store.SelectorRecord();
  ASSERT_EQ(record.size(), 3u);
  EXPECT_EQ(record[0].matched, std::vector<std::string>({"a"}));
  EXPECT_EQ(record[1].matched, std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(record[1].matched_ready, std::vector<std::string>({"a"}));
  EXPECT_EQ(record[2].matched, std::vector<std::string>({"b"}));
  EXPECT_TRUE(record[2].matched_ready.empty());
  EXPECT_EQ(record[2].selector, (LabelMap{{"role", "leader"}}));
}

TEST(StoreTest, BackendIsAReadyMatchingPodWithTheNamedPort) {
  Store store(100);
  Json out;
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("a", R"({"role":"leader"})", false), &out).ok());
  ASSERT_TRUE(store
                  .Create("services", "ns",
                          J(R"({"metadata":{"name":"s"},"spec":{"selector":{"role":"leader"},
                                "ports":[{"port":80,"targetPort":"rest"}]}})"),
                          &out)
                  .ok());
  EXPECT_FALSE(store.PickBackend("ns", "s", 80).has_value());
  ASSERT_TRUE(store.Create("pods", "ns", PodJson("b", R"({"role":"leader"})"), &out).ok());
  auto backend = store.PickBackend("ns", "s", 80);
  ASSERT_TRUE(backend.has_value());
  EXPECT_EQ(backend->pod, "b");
  EXPECT_EQ(backend->port, 1630);
  EXPECT_EQ(backend->ip, "127.0.0.9");
}

TEST(WatchFilterTest, SelectorChangesBecomeAddedAndDeleted) {
  auto sel = LabelSelector::Parse("role=leader");
  ASSERT_TRUE(sel.ok());
  auto fields = FieldSelector::Parse("");
  ASSERT_TRUE(fields.ok());
  Json leader = PodJson("a", R"({"role":"leader"})");
  Json follower = PodJson("a", R"({"role":"follower"})");
  StoredEvent to_leader{7, "MODIFIED", "ns", leader, follower};
  auto added = FilterEvent(to_leader, *sel, *fields);
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->type, "ADDED");
  StoredEvent to_follower{8, "MODIFIED", "ns", follower, leader};
  auto deleted = FilterEvent(to_follower, *sel, *fields);
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->type, "DELETED");
  EXPECT_EQ(deleted->object.at("metadata").at("labels").at("role").as_string(), "leader");
  EXPECT_EQ(Rv(deleted->object), "8");
  StoredEvent unrelated{9, "MODIFIED", "ns", follower, follower};
  EXPECT_FALSE(FilterEvent(unrelated, *sel, *fields).has_value());
}

TEST(FieldSelectorTest, MatchesDottedPaths) {
  auto sel = FieldSelector::Parse("metadata.name=a,involvedObject.kind!=Service");
  ASSERT_TRUE(sel.ok());
  EXPECT_TRUE(sel->Matches(J(R"({"metadata":{"name":"a"},"involvedObject":{"kind":"Pod"}})")));
  EXPECT_FALSE(sel->Matches(J(R"({"metadata":{"name":"a"},"involvedObject":{"kind":"Service"}})")));
  EXPECT_FALSE(sel->Matches(J(R"({"metadata":{"name":"b"}})")));
  EXPECT_FALSE(FieldSelector::Parse("novalue").ok());
}

}  // namespace
}  // namespace amsha::standin
