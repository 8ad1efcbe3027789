// Tests of the Kubernetes API stand-in itself, over raw HTTP: what every
// client test relies on (auth, conflicts, validation, watches, faults).
// cpprest's U() macro would break gtest's templates.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/standin_process.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using Json = web::json::value;
using Clock = std::chrono::steady_clock;

Json Parse(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << text;
    return Json::null();
  }
}

std::string Str(const Json& v, std::initializer_list<const char*> path) {
  const Json* cur = &v;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->has_field(k)) return "";
    cur = &cur->at(k);
  }
  return cur->is_string() ? cur->as_string() : cur->serialize();
}

class StandinApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StandinOptions options;
    options.tls = false;
    options.token = "t0";
    standin_ = std::make_unique<StandinProcess>(options);
    Status s = standin_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(CreatePod("ams-0", {{"app", "ams"}, {"role", "follower"}}).ok());
    ASSERT_TRUE(CreatePod("ams-1", {{"app", "ams"}, {"role", "follower"}}).ok());
  }

  AdminResponse CreatePod(const std::string& name, std::map<std::string, std::string> labels) {
    StandinPod pod;
    pod.name = name;
    pod.labels = std::move(labels);
    return standin_->CreatePod(pod);
  }

  AdminResponse Call(const std::string& method, const std::string& path,
                     const std::string& body = "",
                     const std::string& content_type = "application/json",
                     const std::string& token = "t0") {
    std::vector<std::string> headers = {"Content-Type: " + content_type};
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return PlainHttp(standin_->api_port(), method, path, body, headers);
  }

  AdminResponse MergePatch(const std::string& path, const std::string& body) {
    return Call("PATCH", path, body, "application/merge-patch+json");
  }

  std::unique_ptr<PlainStream> Watch(const std::string& query) {
    auto stream = std::make_unique<PlainStream>();
    EXPECT_TRUE(stream->Open(standin_->api_port(), kPods + "?watch=true&" + query,
                             {"Authorization: Bearer t0"}));
    EXPECT_EQ(stream->code(), 200);
    return stream;
  }

  // The next event whose type is not BOOKMARK (unless bookmarks are wanted).
  Json NextEvent(PlainStream* stream, int timeout_ms = 3000, bool skip_bookmarks = true) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      auto line = stream->NextLine(left);
      if (!line) break;
      Json ev = Parse(*line);
      if (skip_bookmarks && Str(ev, {"type"}) == "BOOKMARK") continue;
      return ev;
    }
    return Json::null();
  }

  std::string ListRv() {
    return Str(Parse(Call("GET", kPods).body), {"metadata", "resourceVersion"});
  }

  const std::string kPods = "/api/v1/namespaces/default/pods";
  std::unique_ptr<StandinProcess> standin_;
};

TEST_F(StandinApiTest, RejectsRequestsWithoutAValidToken) {
  for (const std::string token : {"", "wrong"}) {
    AdminResponse r = Call("GET", kPods, "", "application/json", token);
    EXPECT_EQ(r.code, 401) << token;
    Json status = Parse(r.body);
    EXPECT_EQ(Str(status, {"kind"}), "Status");
    EXPECT_EQ(Str(status, {"reason"}), "Unauthorized");
    EXPECT_EQ(Str(status, {"code"}), "401");
  }
  EXPECT_EQ(Call("GET", kPods).code, 200);
}

TEST_F(StandinApiTest, RotatedTokenWorksAtOnceAndTheOldOneOnlyDuringGrace) {
  ASSERT_TRUE(standin_->RotateToken("t1", 1).ok());
  EXPECT_EQ(Call("GET", kPods, "", "application/json", "t1").code, 200);
  EXPECT_EQ(Call("GET", kPods, "", "application/json", "t0").code, 200);
  std::ifstream file(standin_->token_file());
  std::stringstream content;
  content << file.rdbuf();
  EXPECT_EQ(content.str(), "t1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  EXPECT_EQ(Call("GET", kPods, "", "application/json", "t0").code, 401);
  EXPECT_EQ(Call("GET", kPods, "", "application/json", "t1").code, 200);
}

TEST_F(StandinApiTest, WriteWithStaleResourceVersionGetsConflict) {
  Json pod = Parse(Call("GET", kPods + "/ams-0").body);
  std::string rv = Str(pod, {"metadata", "resourceVersion"});
  ASSERT_EQ(MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"a":"1"}}})").code, 200);
  AdminResponse stale = MergePatch(
      kPods + "/ams-0", R"({"metadata":{"resourceVersion":")" + rv + R"(","labels":{"a":"2"}}})");
  EXPECT_EQ(stale.code, 409);
  EXPECT_EQ(Str(Parse(stale.body), {"reason"}), "Conflict");
  std::string now = Str(Parse(Call("GET", kPods + "/ams-0").body), {"metadata", "resourceVersion"});
  EXPECT_NE(now, rv);
  AdminResponse fresh = MergePatch(
      kPods + "/ams-0", R"({"metadata":{"resourceVersion":")" + now + R"(","labels":{"a":"2"}}})");
  EXPECT_EQ(fresh.code, 200);
  EXPECT_EQ(Str(Parse(fresh.body), {"metadata", "labels", "a"}), "2");
}

TEST_F(StandinApiTest, NoOpPatchKeepsTheResourceVersion) {
  std::string before = ListRv();
  AdminResponse r = MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"app":"ams"}}})");
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(ListRv(), before);
}

TEST_F(StandinApiTest, PatchTypesAndTheirErrors) {
  EXPECT_EQ(Call("PATCH", kPods + "/ams-0", R"({"metadata":{"labels":{"s":"1"}}})",
                 "application/strategic-merge-patch+json")
                .code,
            200);
  AdminResponse test_fails =
      Call("PATCH", kPods + "/ams-0", R"([{"op":"test","path":"/metadata/labels/s","value":"2"}])",
           "application/json-patch+json");
  EXPECT_EQ(test_fails.code, 422);
  AdminResponse json_patch = Call("PATCH", kPods + "/ams-0",
                                  R"([{"op":"test","path":"/metadata/labels/s","value":"1"},
                                      {"op":"remove","path":"/metadata/labels/s"}])",
                                  "application/json-patch+json");
  EXPECT_EQ(json_patch.code, 200);
  EXPECT_EQ(Str(Parse(json_patch.body), {"metadata", "labels", "s"}), "");
  AdminResponse wrong_type = Call("PATCH", kPods + "/ams-0", "{}", "text/plain");
  EXPECT_EQ(wrong_type.code, 415);
  EXPECT_EQ(Str(Parse(wrong_type.body), {"reason"}), "UnsupportedMediaType");
  AdminResponse bad_label = MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"x":"-bad"}}})");
  EXPECT_EQ(bad_label.code, 422);
  EXPECT_EQ(Call("GET", kPods + "/nope").code, 404);
  EXPECT_EQ(Call("POST", kPods + "/ams-0", "{}").code, 405);
  EXPECT_EQ(Call("PATCH", kPods, "{}", "application/merge-patch+json").code, 405);
}

TEST_F(StandinApiTest, InvalidEventIsRejectedWith422AndValidOneIsRecorded) {
  const std::string events = "/api/v1/namespaces/default/events";
  AdminResponse bad = Call("POST", events,
                           R"({"metadata":{"name":"e1"},"involvedObject":{"kind":"Pod",
                               "name":"ams-0"},"type":"Normal"})");
  EXPECT_EQ(bad.code, 422);
  Json status = Parse(bad.body);
  EXPECT_EQ(Str(status, {"reason"}), "Invalid");
  EXPECT_NE(Str(status, {"message"}).find("reason: Required value"), std::string::npos);
  AdminResponse bad_type = Call("POST", events,
                                R"({"metadata":{"name":"e1"},"involvedObject":{"kind":"Pod",
                                    "name":"ams-0"},"reason":"X","type":"Info"})");
  EXPECT_EQ(bad_type.code, 422);
  EXPECT_EQ(Call("POST", events, R"({"metadata":{"name":"e2"},"reason":"X","type":"Normal"})").code,
            422);
  AdminResponse good = Call("POST", events,
                            R"({"metadata":{"generateName":"ams-0."},"involvedObject":{
                                "kind":"Pod","name":"ams-0","namespace":"default"},
                                "reason":"LeaderElected","message":"m","type":"Normal"})");
  EXPECT_EQ(good.code, 201);
  Json recorded = Parse(standin_->Events());
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(Str(recorded.at(0), {"reason"}), "LeaderElected");
  EXPECT_EQ(Str(recorded.at(0), {"metadata", "name"}).rfind("ams-0.", 0), 0u);
}

// The body ams-ha-controller sent before issue 11: eventTime set, no action.
// kube-apiserver's legacyValidateEvent answers 422 "action: Required value".
TEST_F(StandinApiTest, TheOldControllerEventBodyIsRejectedAsTheApiServerDoes) {
  const std::string events = "/api/v1/namespaces/default/events";
  const std::string old_body =
      R"({"apiVersion":"v1","kind":"Event","count":1,"eventTime":"2026-01-01T00:00:00.000001Z",)"
      R"("firstTimestamp":"2026-01-01T00:00:00Z","lastTimestamp":"2026-01-01T00:00:00Z",)"
      R"("involvedObject":{"apiVersion":"v1","kind":"Pod","name":"ams-0","namespace":"default"},)"
      R"("message":"elected","metadata":{"name":"ams-0.1","namespace":"default"},)"
      R"("reason":"LeaderElected","reportingComponent":"ams-ha-controller",)"
      R"("reportingInstance":"controller-0","source":{"component":"ams-ha-controller"},)"
      R"("type":"Normal"})";
  AdminResponse old = Call("POST", events, old_body);
  EXPECT_EQ(old.code, 422);
  Json status = Parse(old.body);
  EXPECT_EQ(Str(status, {"reason"}), "Invalid");
  EXPECT_EQ(Str(status, {"message"}), "Event \"ams-0.1\" is invalid: action: Required value");
  EXPECT_EQ(Str(status.at("details").at("causes").at(0), {"field"}), "action");
  EXPECT_EQ(Str(status.at("details").at("causes").at(0), {"reason"}), "FieldValueRequired");

  // Each rule of the eventTime branch, with the server's field names.
  auto message = [&](const std::string& from, const std::string& to) {
    std::string body = old_body;
    body.replace(body.find(from), from.size(), to);
    return Str(Parse(Call("POST", events, body).body), {"message"});
  };
  EXPECT_NE(message(R"("reportingComponent":"ams-ha-controller",)", "")
                .find("reportingController: Required value"),
            std::string::npos);
  EXPECT_NE(
      message(R"("reportingComponent":"ams-ha-controller")", R"("reportingComponent":"ams ha")")
          .find("reportingController: Invalid value: \"ams ha\""),
      std::string::npos);
  EXPECT_NE(message(R"("reportingInstance":"controller-0",)", "")
                .find("reportingInstance: Required value"),
            std::string::npos);
  EXPECT_NE(message(R"("reportingInstance":"controller-0")",
                    R"("reportingInstance":")" + std::string(129, 'c') + "\"")
                .find("reportingInstance: Invalid value: \"\": can have at most 128 characters"),
            std::string::npos);
  std::string fixed = old_body;
  fixed.replace(fixed.find(R"("message")"), 0, R"("action":"Elect",)");
  EXPECT_EQ(Call("POST", events, fixed).code, 201) << "with action the same Event is valid";
  // Without eventTime the involved object's namespace must be the Event's.
  std::string other_ns = fixed;
  const std::string event_time = R"("eventTime":"2026-01-01T00:00:00.000001Z",)";
  other_ns.replace(other_ns.find(event_time), event_time.size(), "");
  other_ns.replace(other_ns.find("ams-0.1"), 7, "ams-0.2");
  const std::string involved_ns = R"("namespace":"default"})";
  other_ns.replace(other_ns.find(involved_ns), involved_ns.size(), R"("namespace":"ams"})");
  EXPECT_NE(Str(Parse(Call("POST", events, other_ns).body), {"message"})
                .find("involvedObject.namespace: Invalid value: \"ams\": does not match "
                      "event.namespace"),
            std::string::npos);
}

TEST_F(StandinApiTest, UnknownFieldsAreRejectedUnderStrictAndDroppedOtherwise) {
  const std::string services = "/api/v1/namespaces/default/services";
  const std::string svc =
      R"({"metadata":{"name":"s"},"spec":{"selectr":{"a":"b"},"ports":[{"port":1,"nmae":"x"}]}})";
  AdminResponse strict = Call("POST", services + "?fieldValidation=Strict", svc);
  EXPECT_EQ(strict.code, 400);
  EXPECT_EQ(Str(Parse(strict.body), {"message"}),
            "Service in version \"v1\" cannot be handled as a Service: strict decoding error: "
            "unknown field \"spec.ports[0].nmae\", unknown field \"spec.selectr\"");
  AdminResponse warn = Call("POST", services, svc);
  EXPECT_EQ(warn.code, 201);
  EXPECT_EQ(Str(Parse(warn.body), {"spec", "selectr"}), "") << "dropped, as decoding drops it";
  AdminResponse patch = Call("PATCH", services + "/s?fieldValidation=Strict",
                             R"({"spec":{"selectr":{"a":"b"}}})", "application/merge-patch+json");
  EXPECT_EQ(patch.code, 400);
  EXPECT_EQ(Str(Parse(patch.body), {"message"}),
            "strict decoding error: unknown field \"spec.selectr\"");
  AdminResponse event = Call("POST", "/api/v1/namespaces/default/events?fieldValidation=Strict",
                             R"({"metadata":{"name":"e"},"involvedObject":{"kind":"Pod",
                                 "name":"ams-0","namespace":"default","uid":"u","resourceVersion":"1"},
                                 "reason":"X","type":"Normal","reportingComponnet":"c"})");
  EXPECT_EQ(event.code, 400);
  EXPECT_NE(event.body.find("unknown field \\\"reportingComponnet\\\""), std::string::npos)
      << event.body;
}

TEST_F(StandinApiTest, ImmutableFieldsCannotBeChanged) {
  const std::string services = "/api/v1/namespaces/default/services";
  AdminResponse created =
      Call("POST", services, R"({"metadata":{"name":"s"},"spec":{"ports":[{"port":1}]}})");
  ASSERT_EQ(created.code, 201);
  std::string ip = Str(Parse(created.body), {"spec", "clusterIP"});
  EXPECT_EQ(ip.rfind("10.96.", 0), 0u) << "a cluster IP is allocated";
  AdminResponse uid = MergePatch(services + "/s", R"({"metadata":{"uid":"other"}})");
  EXPECT_EQ(uid.code, 422);
  EXPECT_EQ(Str(Parse(uid.body), {"message"}),
            "Service \"s\" is invalid: metadata.uid: Invalid value: \"other\": field is immutable");
  AdminResponse name = MergePatch(services + "/s", R"({"metadata":{"name":"t"}})");
  EXPECT_EQ(name.code, 400);
  EXPECT_EQ(Str(Parse(name.body), {"message"}),
            "the name of the object (t) does not match the name on the URL (s)");
  EXPECT_EQ(MergePatch(services + "/s", R"({"metadata":{"namespace":"other"}})").code, 400);
  AdminResponse cluster_ip = MergePatch(services + "/s", R"({"spec":{"clusterIP":"10.0.0.1"}})");
  EXPECT_EQ(cluster_ip.code, 422);
  EXPECT_NE(Str(Parse(cluster_ip.body), {"message"})
                .find("spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.1\"}: may not change "
                      "once set"),
            std::string::npos);
  // An update that leaves the cluster IP out keeps it (kubectl replace).
  AdminResponse put =
      Call("PUT", services + "/s", R"({"metadata":{"name":"s"},"spec":{"ports":[{"port":2}]}})");
  EXPECT_EQ(put.code, 200) << put.body;
  EXPECT_EQ(Str(Parse(put.body), {"spec", "clusterIP"}), ip);
}

TEST_F(StandinApiTest, LabelPatchesAndSelectorsMustBeValidLabels) {
  AdminResponse key = MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"bad key":"x"}}})");
  EXPECT_EQ(key.code, 422);
  EXPECT_NE(Str(Parse(key.body), {"message"}).find("metadata.labels: Invalid value: \"bad key\""),
            std::string::npos);
  AdminResponse value = MergePatch(
      kPods + "/ams-0", R"({"metadata":{"labels":{"a":")" + std::string(64, 'v') + "\"}}}");
  EXPECT_EQ(value.code, 422);
  EXPECT_EQ(Call("POST", "/api/v1/namespaces/default/services",
                 R"({"metadata":{"name":"s"},"spec":{"selector":{"a":"-x"}}})")
                .code,
            422);
}

TEST_F(StandinApiTest, StrategicMergePatchMergesPortsByKeyAndHonoursDirectives) {
  const std::string services = "/api/v1/namespaces/default/services";
  ASSERT_EQ(Call("POST", services,
                 R"({"metadata":{"name":"s","annotations":{"a":"1"}},"spec":{"ports":[
                     {"name":"rest","port":1630},{"name":"table","port":1260}]}})")
                .code,
            201);
  AdminResponse r =
      Call("PATCH", services + "/s",
           R"({"metadata":{"annotations":{"b":"2"}},"spec":{"$setElementOrder/ports":[{"port":1260},
          {"port":1630}],"ports":[{"name":"thrift","port":1260}]}})",
           "application/strategic-merge-patch+json");
  ASSERT_EQ(r.code, 200) << r.body;
  Json svc = Parse(r.body);
  EXPECT_EQ(Str(svc, {"metadata", "annotations", "a"}), "1");
  EXPECT_EQ(Str(svc, {"metadata", "annotations", "b"}), "2");
  const Json& ports = svc.at("spec").at("ports");
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(Str(ports.at(0), {"name"}), "thrift");
  EXPECT_EQ(Str(ports.at(1), {"name"}), "rest");
  EXPECT_EQ(Call("PATCH", services + "/s", R"({"spec":{"$deleteFromPrimitiveList/x":["y"]}})",
                 "application/strategic-merge-patch+json")
                .code,
            400);
}

// Server-side apply's field ownership, as GitOps tools rely on it.
TEST_F(StandinApiTest, ServerSideApplyOwnsFieldsConflictsAndReleases) {
  const std::string svc = "/api/v1/namespaces/default/services/s";
  auto apply = [&](const std::string& manager, const std::string& body, bool force = false) {
    return Call("PATCH", svc + "?fieldManager=" + manager + (force ? "&force=true" : ""), body,
                "application/apply-patch+yaml");
  };
  const std::string base =
      R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s","labels":{"a":"1"%s}},)"
      R"("spec":{"ports":[{"port":1630}]%s}})";
  auto config = [&](const std::string& labels, const std::string& spec) {
    std::string out = base;
    out.replace(out.find("%s"), 2, labels);
    out.replace(out.find("%s"), 2, spec);
    return out;
  };
  EXPECT_EQ(Call("PATCH", svc, config("", ""), "application/apply-patch+yaml").code, 400)
      << "fieldManager is required";
  EXPECT_EQ(apply("flux", config("", "")).code, 201) << "apply creates";
  // Another writer (an update) sets the selector: it owns it.
  ASSERT_EQ(MergePatch(svc + "?fieldManager=controller", R"({"spec":{"selector":{"x":"y"}}})").code,
            200);
  // The applier adds a label, then drops it: it is removed.
  ASSERT_EQ(apply("flux", config(R"(,"b":"2")", "")).code, 200);
  Json got = Parse(apply("flux", config("", "")).body);
  EXPECT_EQ(Str(got, {"metadata", "labels", "b"}), "");
  EXPECT_EQ(Str(got, {"spec", "selector", "x"}), "y") << "never applied, never removed";
  // Applying another value of the controller's field conflicts...
  AdminResponse conflict = apply("flux", config("", R"(,"selector":{"x":"z"})"));
  EXPECT_EQ(conflict.code, 409);
  EXPECT_EQ(Str(Parse(conflict.body), {"message"}),
            "Apply failed with 1 conflict: conflict with \"controller\" using v1: "
            ".spec.selector.x");
  // ...unless forced; the same value is shared without conflict.
  EXPECT_EQ(apply("other", config("", R"(,"selector":{"x":"y"})")).code, 200);
  AdminResponse forced = apply("flux", config("", R"(,"selector":{"x":"z"})"), true);
  EXPECT_EQ(forced.code, 200);
  EXPECT_EQ(Str(Parse(forced.body), {"spec", "selector", "x"}), "z");
}

TEST_F(StandinApiTest, ListFiltersWithEqualityAndSetBasedSelectors) {
  ASSERT_EQ(MergePatch(kPods + "/ams-1", R"({"metadata":{"labels":{"role":"leader"}}})").code, 200);
  auto names = [&](const std::string& selector) {
    Json list = Parse(Call("GET", kPods + "?labelSelector=" + selector).body);
    std::string out;
    for (const auto& item : list.at("items").as_array()) {
      out += (out.empty() ? "" : ",") + Str(item, {"metadata", "name"});
    }
    return out;
  };
  EXPECT_EQ(names("role%3Dleader"), "ams-1");
  EXPECT_EQ(names("role%21%3Dleader"), "ams-0");
  EXPECT_EQ(names("role%20in%20(leader%2Cfollower)"), "ams-0,ams-1");
  EXPECT_EQ(names("app%2C%21missing"), "ams-0,ams-1");
  EXPECT_EQ(names("missing"), "");
  EXPECT_EQ(Call("GET", kPods + "?labelSelector=role%20in%20leader").code, 400);
}

TEST_F(StandinApiTest, WatchSendsBookmarksWhileIdleAndEndsCleanlyAtTimeout) {
  std::string rv = ListRv();
  auto watch = Watch("allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion=" + rv);
  Json ev = NextEvent(watch.get(), 2500, /*skip_bookmarks=*/false);
  EXPECT_EQ(Str(ev, {"type"}), "BOOKMARK");
  EXPECT_EQ(Str(ev, {"object", "metadata", "resourceVersion"}), rv);
  EXPECT_EQ(Str(ev, {"object", "metadata", "name"}), "");
  EXPECT_TRUE(watch->WaitEnd(3000));
  EXPECT_TRUE(watch->ended_cleanly());
}

TEST_F(StandinApiTest, WatchWithoutResourceVersionStartsWithEveryPod) {
  auto watch = Watch("labelSelector=app%3Dams");
  EXPECT_EQ(Str(NextEvent(watch.get()), {"object", "metadata", "name"}), "ams-0");
  EXPECT_EQ(Str(NextEvent(watch.get()), {"object", "metadata", "name"}), "ams-1");
}

TEST_F(StandinApiTest, SelectorMatchChangesArriveAsAddedAndDeleted) {
  auto watch = Watch("labelSelector=role%3Dleader&resourceVersion=" + ListRv());
  ASSERT_EQ(MergePatch(kPods + "/ams-1", R"({"metadata":{"labels":{"role":"leader"}}})").code, 200);
  Json added = NextEvent(watch.get());
  EXPECT_EQ(Str(added, {"type"}), "ADDED");
  EXPECT_EQ(Str(added, {"object", "metadata", "name"}), "ams-1");
  ASSERT_EQ(MergePatch(kPods + "/ams-1", R"({"metadata":{"annotations":{"n":"1"}}})").code, 200);
  EXPECT_EQ(Str(NextEvent(watch.get()), {"type"}), "MODIFIED");
  ASSERT_EQ(MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"x":"1"}}})").code, 200);
  AdminResponse last =
      MergePatch(kPods + "/ams-1", R"({"metadata":{"labels":{"role":"follower"}}})");
  ASSERT_EQ(last.code, 200);
  Json deleted = NextEvent(watch.get());
  EXPECT_EQ(Str(deleted, {"type"}), "DELETED");
  EXPECT_EQ(Str(deleted, {"object", "metadata", "name"}), "ams-1");
  // The previous content (still matching), at the new resourceVersion.
  EXPECT_EQ(Str(deleted, {"object", "metadata", "labels", "role"}), "leader");
  EXPECT_EQ(Str(deleted, {"object", "metadata", "resourceVersion"}),
            Str(Parse(last.body), {"metadata", "resourceVersion"}));
}

TEST_F(StandinApiTest, ResumeAfterCompactionGetsAnInStream410) {
  std::string old_rv = ListRv();
  ASSERT_EQ(MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"x":"1"}}})").code, 200);
  auto before = Watch("resourceVersion=" + old_rv);
  EXPECT_EQ(Str(NextEvent(before.get()), {"type"}), "MODIFIED");
  ASSERT_TRUE(standin_->Compact().ok());
  auto after = Watch("resourceVersion=" + old_rv);
  Json error = NextEvent(after.get());
  EXPECT_EQ(Str(error, {"type"}), "ERROR");
  EXPECT_EQ(Str(error, {"object", "kind"}), "Status");
  EXPECT_EQ(Str(error, {"object", "code"}), "410");
  EXPECT_EQ(Str(error, {"object", "reason"}), "Expired");
  EXPECT_TRUE(after->WaitEnd(2000));
  EXPECT_TRUE(after->ended_cleanly());
  // From the current resourceVersion nothing was lost: no 410.
  auto current = Watch("resourceVersion=" + ListRv());
  ASSERT_EQ(MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"x":"2"}}})").code, 200);
  EXPECT_EQ(Str(NextEvent(current.get()), {"type"}), "MODIFIED");
}

TEST_F(StandinApiTest, ResumeFromBeforeTheEventWindowGets410) {
  StandinOptions options;
  options.tls = false;
  options.token = "t0";
  options.event_window = 2;
  StandinProcess small(options);
  ASSERT_TRUE(small.Start().ok());
  StandinPod pod;
  pod.name = "p";
  ASSERT_TRUE(small.CreatePod(pod).ok());  // rv 1
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(small.SetReady("p", i % 2 == 0 ? false : true).ok());  // rv 2, 3, 4
  }
  auto watch_from = [&](const std::string& rv) {
    auto stream = std::make_unique<PlainStream>();
    EXPECT_TRUE(stream->Open(small.api_port(), kPods + "?watch=1&resourceVersion=" + rv,
                             {"Authorization: Bearer t0"}));
    return stream;
  };
  auto too_old = watch_from("1");
  EXPECT_EQ(Str(NextEvent(too_old.get()), {"object", "code"}), "410");
  auto in_window = watch_from("2");
  Json ev = NextEvent(in_window.get());
  EXPECT_EQ(Str(ev, {"type"}), "MODIFIED");
  EXPECT_EQ(Str(ev, {"object", "metadata", "resourceVersion"}), "3");
}

TEST_F(StandinApiTest, GracefulDeleteMarksThePodThenRemovesIt) {
  auto watch = Watch("resourceVersion=" + ListRv());
  AdminResponse del = Call("DELETE", kPods + "/ams-0?gracePeriodSeconds=1");
  ASSERT_EQ(del.code, 200);
  EXPECT_NE(Str(Parse(del.body), {"metadata", "deletionTimestamp"}), "");
  Json marked = NextEvent(watch.get());
  EXPECT_EQ(Str(marked, {"type"}), "MODIFIED");
  EXPECT_EQ(Str(marked, {"object", "metadata", "deletionGracePeriodSeconds"}), "1");
  EXPECT_EQ(Call("GET", kPods + "/ams-0").code, 200);
  Json removed = NextEvent(watch.get(), 3000);
  EXPECT_EQ(Str(removed, {"type"}), "DELETED");
  EXPECT_EQ(Str(removed, {"object", "metadata", "name"}), "ams-0");
  EXPECT_EQ(Call("GET", kPods + "/ams-0").code, 404);
  // DeleteOptions with zero grace: gone at once.
  ASSERT_EQ(Call("DELETE", kPods + "/ams-1", R"({"gracePeriodSeconds":0})").code, 200);
  EXPECT_EQ(Str(NextEvent(watch.get()), {"type"}), "DELETED");
  EXPECT_EQ(Call("GET", kPods + "/ams-1").code, 404);
}

TEST_F(StandinApiTest, InjectedFaultsFailOnlyTheNextMatchingRequests) {
  StandinFault fault;
  fault.method = "GET";
  fault.path_prefix = kPods;
  fault.count = 2;
  fault.code = 500;
  ASSERT_TRUE(standin_->InjectFault(fault).ok());
  EXPECT_EQ(Call("PATCH", kPods + "/ams-0", "{}", "application/merge-patch+json").code, 200);
  AdminResponse first = Call("GET", kPods);
  EXPECT_EQ(first.code, 500);
  EXPECT_EQ(Str(Parse(first.body), {"reason"}), "InternalError");
  EXPECT_EQ(Call("GET", kPods + "/ams-0").code, 500);
  EXPECT_EQ(Call("GET", kPods).code, 200);

  StandinFault throttle;
  throttle.code = 429;
  throttle.retry_after_seconds = 3;
  ASSERT_TRUE(standin_->InjectFault(throttle).ok());
  AdminResponse throttled = Call("GET", kPods);
  EXPECT_EQ(throttled.code, 429);
  EXPECT_EQ(Str(Parse(throttled.body), {"reason"}), "TooManyRequests");
  EXPECT_NE(throttled.head.find("Retry-After: 3"), std::string::npos) << throttled.head;
}

TEST_F(StandinApiTest, WatchOnlyFaultSparesLists) {
  StandinFault fault;
  fault.watch = true;
  fault.count = -1;
  fault.code = 503;
  ASSERT_TRUE(standin_->InjectFault(fault).ok());
  EXPECT_EQ(Call("GET", kPods).code, 200);
  PlainStream stream;
  ASSERT_TRUE(
      stream.Open(standin_->api_port(), kPods + "?watch=true", {"Authorization: Bearer t0"}));
  EXPECT_EQ(stream.code(), 503);
  ASSERT_TRUE(standin_->ClearFaults().ok());
  EXPECT_EQ(Watch("")->code(), 200);
}

TEST_F(StandinApiTest, ForbiddenRequestsGetTheRbacMessage) {
  ASSERT_TRUE(standin_->Forbid("patch", "services", "default").ok());
  AdminResponse svc = Call("POST", "/api/v1/namespaces/default/services",
                           R"({"metadata":{"name":"ams-leader"},"spec":{"selector":{"a":"b"}}})");
  ASSERT_EQ(svc.code, 201);
  AdminResponse denied =
      MergePatch("/api/v1/namespaces/default/services/ams-leader", R"({"spec":{}})");
  EXPECT_EQ(denied.code, 403);
  EXPECT_EQ(Str(Parse(denied.body), {"message"}),
            "services \"ams-leader\" is forbidden: User "
            "\"system:serviceaccount:default:ams-ha-controller\" cannot patch resource "
            "\"services\" in API group \"\" in the namespace \"default\"");
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/default/services/ams-leader").code, 200);
  ASSERT_TRUE(standin_->ClearForbids().ok());
  EXPECT_EQ(MergePatch("/api/v1/namespaces/default/services/ams-leader", R"({"spec":{}})").code,
            200);
}

// As RBAC with a bound Role: resourceNames grant requests that name the
// object (get, patch, a list or watch pinned by metadata.name) but never a
// list or watch of the collection; nothing outside the Role's namespace.
TEST_F(StandinApiTest, ARoleWithResourceNamesNeverGrantsAListOrWatchOfTheCollection) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/services",
                 R"({"metadata":{"name":"ams-leader"},"spec":{"selector":{"a":"b"}}})")
                .code,
            201);
  ASSERT_TRUE(standin_
                  ->SetRole(R"({"namespace":"default","rules":[{"verbs":["get","list","watch"],)"
                            R"("resources":["services"],"resourceNames":["ams-leader"]}]})")
                  .ok());
  const std::string services = "/api/v1/namespaces/default/services";
  EXPECT_EQ(Call("GET", services + "/ams-leader").code, 200);
  AdminResponse list = Call("GET", services);
  EXPECT_EQ(list.code, 403);
  EXPECT_EQ(Str(Parse(list.body), {"message"}),
            "services is forbidden: User \"system:serviceaccount:default:ams-ha-controller\" "
            "cannot list resource \"services\" in API group \"\" in the namespace \"default\"");
  EXPECT_EQ(Call("GET", services + "?fieldSelector=metadata.name%3Dams-leader").code, 200);
  EXPECT_EQ(Call("GET", services + "?fieldSelector=metadata.name%3Dother").code, 403);
  PlainStream stream;
  ASSERT_TRUE(
      stream.Open(standin_->api_port(), services + "?watch=true", {"Authorization: Bearer t0"}));
  EXPECT_EQ(stream.code(), 403);
  EXPECT_EQ(MergePatch(services + "/ams-leader", R"({"spec":{}})").code, 403) << "verb not granted";
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/other/services/ams-leader").code, 403);
  EXPECT_EQ(Call("GET", kPods).code, 403) << "resource not granted";

  ASSERT_TRUE(standin_
                  ->SetRole(R"({"namespace":"default","rules":[{"verbs":["list","watch"],)"
                            R"("resources":["services"]}]})")
                  .ok());
  EXPECT_EQ(Call("GET", services).code, 200);
  ASSERT_TRUE(standin_->ClearRole().ok());
  EXPECT_EQ(Call("GET", kPods).code, 200);
}

TEST_F(StandinApiTest, LatencyAndPauseDelayAnswers) {
  ASSERT_TRUE(standin_->SetLatency(300).ok());
  auto start = Clock::now();
  EXPECT_EQ(Call("GET", kPods).code, 200);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(300));
  ASSERT_TRUE(standin_->SetLatency(0).ok());

  ASSERT_TRUE(standin_->Pause(1.0).ok());
  start = Clock::now();
  EXPECT_EQ(Call("GET", kPods).code, 200);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(700));

  ASSERT_TRUE(standin_->Pause(30).ok());
  std::thread resume([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    standin_->Pause(0);
  });
  start = Clock::now();
  EXPECT_EQ(Call("GET", kPods).code, 200);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  resume.join();
}

TEST_F(StandinApiTest, PausedWatchGoesSilentAndDeliversAfterwards) {
  auto watch = Watch("resourceVersion=" + ListRv());
  ASSERT_TRUE(standin_->Pause(1.5).ok());
  ASSERT_TRUE(standin_->SetReady("ams-0", false).ok());
  EXPECT_FALSE(watch->NextLine(800).has_value());
  Json ev = NextEvent(watch.get(), 3000);
  EXPECT_EQ(Str(ev, {"type"}), "MODIFIED");
}

TEST_F(StandinApiTest, CutEndsWatchesAbruptly) {
  auto watch = Watch("resourceVersion=" + ListRv());
  ASSERT_TRUE(standin_->CutWatches().ok());
  EXPECT_TRUE(watch->WaitEnd(2000));
  EXPECT_FALSE(watch->ended_cleanly());
  EXPECT_EQ(Watch("")->code(), 200);
}

TEST_F(StandinApiTest, SelectorRecordFollowsWhatTheServiceMatches) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/services",
                 R"({"metadata":{"name":"ams-leader"},"spec":{"selector":{"app":"ams",
                     "role":"leader"},"ports":[{"port":1630}]}})")
                .code,
            201);
  ASSERT_EQ(MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"role":"leader"}}})").code, 200);
  ASSERT_EQ(MergePatch(kPods + "/ams-1", R"({"metadata":{"labels":{"role":"leader"}}})").code, 200);
  ASSERT_TRUE(standin_->SetReady("ams-1", false).ok());
  ASSERT_EQ(MergePatch("/api/v1/namespaces/default/services/ams-leader",
                       R"({"spec":{"selector":{"role":"follower"}}})")
                .code,
            200);
  Json record = Parse(standin_->SelectorRecord());
  ASSERT_EQ(record.size(), 5u) << record.serialize();
  auto matched = [&](size_t i, const char* field) {
    std::string out;
    for (const auto& n : record.at(i).at(field).as_array()) {
      out += (out.empty() ? "" : ",") + n.as_string();
    }
    return out;
  };
  EXPECT_EQ(Str(record.at(0), {"service"}), "ams-leader");
  EXPECT_EQ(matched(0, "matched"), "");
  EXPECT_EQ(matched(1, "matched"), "ams-0");
  EXPECT_EQ(matched(2, "matched"), "ams-0,ams-1");
  EXPECT_EQ(matched(3, "matched"), "ams-0,ams-1");
  EXPECT_EQ(matched(3, "matchedReady"), "ams-0");
  EXPECT_EQ(Str(record.at(4), {"selector", "role"}), "follower");
  EXPECT_EQ(matched(4, "matched"), "");
  EXPECT_LE(record.at(0).at("monoNs").as_number().to_int64(),
            record.at(4).at("monoNs").as_number().to_int64());
}

TEST_F(StandinApiTest, RequestRecordShowsWhatClientsSent) {
  ASSERT_EQ(Call("PATCH", kPods + "/ams-0", R"({"metadata":{"labels":{"r":"1"}}})",
                 "application/merge-patch+json")
                .code,
            200);
  Json requests = Parse(standin_->Requests());
  ASSERT_GE(requests.size(), 1u);
  const Json& last = requests.at(requests.size() - 1);
  EXPECT_EQ(Str(last, {"method"}), "PATCH");
  EXPECT_EQ(Str(last, {"path"}), kPods + "/ams-0");
  EXPECT_EQ(Str(last, {"code"}), "200");
  EXPECT_EQ(Str(last, {"contentType"}), "application/merge-patch+json");
  EXPECT_NE(Str(last, {"body"}).find("\"r\""), std::string::npos);
}

TEST_F(StandinApiTest, AdminCreatedServicesAreRecordedAndTheRecordFilters) {
  for (const char* svc : {"leader-a", "leader-b"}) {
    AdminResponse r = standin_->Admin("POST", "/admin/services",
                                      std::string(R"({"metadata":{"name":")") + svc +
                                          R"("},"spec":{"selector":{"app":"ams","role":")" + svc +
                                          R"("},"ports":[{"port":1630}]}})");
    ASSERT_EQ(r.code, 201) << r.body;
  }
  // The admin route validates like the API: a selector value that is no label.
  EXPECT_EQ(standin_
                ->Admin("POST", "/admin/services",
                        R"({"metadata":{"name":"bad"},"spec":{"selector":{"app":"-x-"},)"
                        R"("ports":[{"port":1}]}})")
                .code,
            422);
  const int64_t before_patch = Parse(standin_->Admin("GET", "/admin/record/selectors").body)
                                   .at(1)
                                   .at("monoNs")
                                   .as_number()
                                   .to_int64() +
                               1;
  ASSERT_EQ(MergePatch(kPods + "/ams-1", R"({"metadata":{"labels":{"role":"leader-b"}}})").code,
            200);
  // Only leader-b's matches changed: one more entry, for it.
  Json all = Parse(standin_->Admin("GET", "/admin/record/selectors").body);
  ASSERT_EQ(all.size(), 3u) << all.serialize();
  EXPECT_EQ(Str(all.at(2), {"service"}), "leader-b");
  EXPECT_EQ(all.at(2).at("matched").at(0).as_string(), "ams-1");
  Json b = Parse(standin_->Admin("GET", "/admin/record/selectors?service=leader-b").body);
  EXPECT_EQ(b.size(), 2u) << b.serialize();
  Json since = Parse(
      standin_->Admin("GET", "/admin/record/selectors?sinceMonoNs=" + std::to_string(before_patch))
          .body);
  ASSERT_EQ(since.size(), 1u) << since.serialize();
  EXPECT_EQ(Str(since.at(0), {"service"}), "leader-b");
}

TEST_F(StandinApiTest, RequestCountsCountEveryRequestByVerbAndSurviveClear) {
  ASSERT_EQ(Call("GET", kPods).code, 200);
  ASSERT_EQ(Call("GET", kPods + "/ams-0").code, 200);
  ASSERT_EQ(MergePatch(kPods + "/ams-0", R"({"metadata":{"labels":{"r":"1"}}})").code, 200);
  ASSERT_EQ(standin_->Admin("DELETE", "/admin/record/requests").code, 200);
  auto watch = Watch("resourceVersion=" + ListRv());
  Json counts = Parse(standin_->Admin("GET", "/admin/record/request-counts").body);
  EXPECT_EQ(Str(counts, {"byVerb", "list"}), "2");  // and the one ListRv() made
  EXPECT_EQ(Str(counts, {"byVerb", "get"}), "1");
  EXPECT_EQ(Str(counts, {"byVerb", "patch"}), "1");
  EXPECT_EQ(Str(counts, {"byVerb", "watch"}), "1");
  EXPECT_EQ(Str(counts, {"byVerbResource", "get pods"}), "1");
}

TEST(StandinTlsTest, ServesHttpsWithTheGeneratedCa) {
  StandinProcess standin;  // TLS by default
  ASSERT_TRUE(standin.Start().ok());
  EXPECT_EQ(standin.api_url().rfind("https://127.0.0.1:", 0), 0u);
  std::string out;
  std::string curl = "curl -sS --max-time 5 -H 'Authorization: Bearer " + standin.token() + "' ";
  EXPECT_EQ(RunCommand(curl + "--cacert " + standin.ca_file() + " " + standin.api_url() +
                           "/api/v1/namespaces/default/pods",
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("\"PodList\""), std::string::npos) << out;
  // Without the CA the certificate must not verify.
  EXPECT_NE(RunCommand(curl + standin.api_url() + "/api", &out), 0) << out;
  std::ifstream kubeconfig(standin.kubeconfig());
  std::stringstream text;
  text << kubeconfig.rdbuf();
  EXPECT_NE(text.str().find("certificate-authority: " + standin.ca_file()), std::string::npos);
  EXPECT_NE(text.str().find("server: " + standin.api_url()), std::string::npos);
  EXPECT_EQ(standin.Stop(), 0);
}

}  // namespace
}  // namespace amsha::testing
