// The wire format of RestKubeApi: URLs, exact request bodies, response
// parsing and error mapping, without a server.
#include "kube/rest_kube_api.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

using namespace kube_wire;  // NOLINT: the functions under test

const RequestTarget kPatchService{"patch", "services", "ams-leader", "ams"};
const RequestTarget kWatchPods{"watch", "pods", "", "ams"};

constexpr char kPodJson[] = R"({
  "kind": "Pod", "apiVersion": "v1",
  "metadata": {"name": "ams-0", "namespace": "ams", "uid": "u-1", "resourceVersion": "42",
               "labels": {"app": "ams", "amoro.apache.org/ha-role": "leader"},
               "annotations": {"x": "y"}, "creationTimestamp": "2026-01-01T00:00:00Z",
               "deletionTimestamp": "2026-01-01T00:01:00Z", "deletionGracePeriodSeconds": 30},
  "spec": {"containers": [{"name": "ams", "ports": [{"name": "rest", "containerPort": 1630}]}]},
  "status": {"phase": "Running", "podIP": "10.0.0.7", "podIPs": [{"ip": "10.0.0.7"}],
             "conditions": [{"type": "PodScheduled", "status": "True"},
                            {"type": "Ready", "status": "True",
                             "lastTransitionTime": "2026-01-01T00:00:05Z"}]}
})";

TEST(KubeWireTest, SetBasedSelectorsArePercentEncodedInTheQuery) {
  EXPECT_EQ(EncodeComponent("env in (a,b)"), "env%20in%20%28a%2Cb%29");
  EXPECT_EQ(EncodeComponent("!key"), "%21key");
  EXPECT_EQ(EncodeComponent("app=ams,tier!=web"), "app%3Dams%2Ctier%21%3Dweb");
  EXPECT_EQ(EncodeComponent("amoro.apache.org/ha-role"), "amoro.apache.org%2Fha-role");
  EXPECT_EQ(ListPodsUrl("ams", "app=ams,!canary"),
            "/api/v1/namespaces/ams/pods?labelSelector=app%3Dams%2C%21canary");
  EXPECT_EQ(ListPodsUrl("ams", ""), "/api/v1/namespaces/ams/pods");
}

TEST(KubeWireTest, WatchUrlAsksForBookmarksAResourceVersionAndAServerTimeout) {
  EXPECT_EQ(WatchPodsUrl("ams", "app in (ams)", "1234", 300),
            "/api/v1/namespaces/ams/pods?watch=true&allowWatchBookmarks=true"
            "&labelSelector=app%20in%20%28ams%29&resourceVersion=1234&timeoutSeconds=300");
  EXPECT_EQ(WatchPodsUrl("ams", "", "", 5),
            "/api/v1/namespaces/ams/pods?watch=true&allowWatchBookmarks=true&timeoutSeconds=5");
}

TEST(KubeWireTest, ResourcePathsNameTheObject) {
  EXPECT_EQ(PodsPath("ams", "ams-0"), "/api/v1/namespaces/ams/pods/ams-0");
  EXPECT_EQ(ServicesPath("ams", "ams-leader"), "/api/v1/namespaces/ams/services/ams-leader");
  EXPECT_EQ(EventsPath("ams"), "/api/v1/namespaces/ams/events");
}

TEST(KubeWireTest, PodLabelPatchSetsValuesAndNullsRemovedLabels) {
  EXPECT_EQ(PodLabelsPatch({{"amoro.apache.org/ha-role", "leader"}, {"stale", std::nullopt}}),
            R"({"metadata":{"labels":{"amoro.apache.org/ha-role":"leader","stale":null}}})");
}

TEST(KubeWireTest, ServicePatchReplacesTheWholeSelectorAndMergesAnnotations) {
  ServicePatch patch;
  patch.selector = Labels{{"app", "ams"}, {"amoro.apache.org/ha-pod", "ams-1"}};
  patch.annotations = {{"amoro.apache.org/leader", "ams-1"}, {"old-note", std::nullopt}};
  EXPECT_EQ(
      ServiceMergePatch({{"app", "ams"}, {"amoro.apache.org/ha-pod", "ams-0"}, {"extra", "x"}},
                        patch, "77"),
      R"({"metadata":{"annotations":{"amoro.apache.org/leader":"ams-1","old-note":null},)"
      R"("resourceVersion":"77"},"spec":{"selector":{"amoro.apache.org/ha-pod":"ams-1",)"
      R"("app":"ams","extra":null}}})");
}

TEST(KubeWireTest, ServicePatchWithoutSelectorLeavesTheSpecAlone) {
  ServicePatch patch;
  patch.annotations = {{"note", "x"}};
  EXPECT_EQ(ServiceMergePatch({{"app", "ams"}}, patch, ""),
            R"({"metadata":{"annotations":{"note":"x"}}})");
}

TEST(KubeWireTest, EventBodyHasTheFieldsTheApiServerRequiresWithEventTime) {
  Event event;
  event.name = "ams-1.18fae2769b0fca00";
  event.involved_object = {"Pod", "ams-1", "ams", "uid-9", "v1", "77"};
  event.reason = "LeaderElected";
  event.action = "Elect";
  event.message = "ams-1 holds the lease \"AMS\"";
  event.reporting_instance = "controller-0";
  event.first_time =
      WallTime{std::chrono::seconds(1'800'000'000) + std::chrono::microseconds(123456)};
  event.last_time = event.first_time;
  EXPECT_EQ(
      EventBody(event, "default"),
      R"({"action":"Elect","apiVersion":"v1","count":1,)"
      R"("eventTime":"2027-01-15T08:00:00.123456Z",)"
      R"("firstTimestamp":"2027-01-15T08:00:00Z","involvedObject":{"apiVersion":"v1",)"
      R"("kind":"Pod","name":"ams-1","namespace":"ams","resourceVersion":"77","uid":"uid-9"},)"
      R"("kind":"Event",)"
      R"("lastTimestamp":"2027-01-15T08:00:00Z","message":"ams-1 holds the lease \"AMS\"",)"
      R"("metadata":{"name":"ams-1.18fae2769b0fca00","namespace":"ams"},)"
      R"("reason":"LeaderElected","reportingComponent":"ams-ha-controller",)"
      R"("reportingInstance":"controller-0","source":{"component":"ams-ha-controller"},)"
      R"("type":"Normal"})");
}

TEST(KubeWireTest, ARepeatedEventCarriesItsSeries) {
  Event event;
  event.name = "ams-leader.1";
  event.involved_object = {"Service", "ams-leader", "ams", "u"};
  event.message = "routing to ams-2";
  event.first_time = WallTime{std::chrono::seconds(1'800'000'000)};
  event.last_time = event.first_time + std::chrono::seconds(90);
  event.count = 3;
  EXPECT_EQ(EventSeriesPatch(event),
            R"({"count":3,"lastTimestamp":"2027-01-15T08:01:30Z","message":"routing to ams-2",)"
            R"("series":{"count":3,"lastObservedTime":"2027-01-15T08:01:30.000000Z"}})");
  std::string body = EventBody(event, "ams");
  EXPECT_NE(body.find(R"("count":3)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("series":{"count":3,"lastObservedTime":"2027-01-15T08:01:30.000000Z"})"),
            std::string::npos)
      << body;
}

TEST(KubeWireTest, EventsAboutObjectsWithoutNamespaceUseTheClients) {
  Event event;
  event.involved_object = {"Service", "ams-leader", "", ""};
  event.reason = "Switchover";
  std::string body = EventBody(event, "ams");
  EXPECT_NE(body.find(R"("namespace":"ams")"), std::string::npos) << body;
  EXPECT_EQ(body.find("uid"), std::string::npos) << body;
  EXPECT_EQ(body.find("series"), std::string::npos) << body;
}

TEST(KubeWireTest, WritesAskForStrictFieldValidation) {
  EXPECT_EQ(WithStrictValidation(EventsPath("ams", "e.1")),
            "/api/v1/namespaces/ams/events/e.1?fieldValidation=Strict");
}

TEST(KubeWireTest, ParsesThePodFieldsTheControllerUses) {
  StatusOr<Pod> pod = ParsePod(kPodJson);
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ(pod->name, "ams-0");
  EXPECT_EQ(pod->namespace_name, "ams");
  EXPECT_EQ(pod->uid, "u-1");
  EXPECT_EQ(pod->resource_version, "42");
  EXPECT_EQ(pod->labels, (Labels{{"app", "ams"}, {"amoro.apache.org/ha-role", "leader"}}));
  EXPECT_EQ(pod->pod_ip, "10.0.0.7");
  EXPECT_EQ(pod->phase, "Running");
  EXPECT_TRUE(pod->ready);
  EXPECT_EQ(pod->ready_transition_time, "2026-01-01T00:00:05Z");
  EXPECT_EQ(pod->deletion_timestamp, "2026-01-01T00:01:00Z");
}

TEST(KubeWireTest, APodWithoutReadyConditionOrIpIsNotReady) {
  StatusOr<Pod> pod = ParsePod(R"({"metadata":{"name":"p"},"status":{"phase":"Pending"}})");
  ASSERT_TRUE(pod.ok());
  EXPECT_FALSE(pod->ready);
  EXPECT_EQ(pod->pod_ip, "");
  EXPECT_FALSE(pod->Terminating());
}

TEST(KubeWireTest, ParsesAPodListWithItsResourceVersion) {
  StatusOr<PodList> list = ParsePodList(std::string(R"({"kind":"PodList","metadata":{)") +
                                        R"("resourceVersion":"99"},"items":[)" + kPodJson + "]}");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->resource_version, "99");
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].name, "ams-0");
}

TEST(KubeWireTest, ParsesAService) {
  StatusOr<Service> svc = ParseService(
      R"({"metadata":{"name":"ams-leader","namespace":"ams","uid":"s1","resourceVersion":"5",)"
      R"("annotations":{"a":"b"}},"spec":{"selector":{"app":"ams"},"ports":[]}})");
  ASSERT_TRUE(svc.ok()) << svc.status().ToString();
  EXPECT_EQ(svc->name, "ams-leader");
  EXPECT_EQ(svc->selector, (Labels{{"app", "ams"}}));
  EXPECT_EQ(svc->annotations, (Labels{{"a", "b"}}));
  EXPECT_EQ(svc->resource_version, "5");
}

TEST(KubeWireTest, MalformedBodiesAreInternalErrors) {
  EXPECT_EQ(ParsePod("{not json").status().code(), StatusCode::kInternal);
  EXPECT_EQ(ParsePod("{}").status().code(), StatusCode::kInternal);
  EXPECT_EQ(ParseService("[]").status().code(), StatusCode::kInternal);
}

TEST(KubeWireTest, WatchLinesBecomeEvents) {
  StatusOr<PodWatchEvent> added =
      ParseWatchLine(std::string(R"({"type":"ADDED","object":)") + kPodJson + "}", kWatchPods);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->type, WatchEventType::kAdded);
  EXPECT_EQ(added->pod.name, "ams-0");

  StatusOr<PodWatchEvent> bookmark = ParseWatchLine(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"120"}}})",
      kWatchPods);
  ASSERT_TRUE(bookmark.ok());
  EXPECT_EQ(bookmark->type, WatchEventType::kBookmark);
  EXPECT_EQ(bookmark->pod.resource_version, "120");

  StatusOr<PodWatchEvent> deleted =
      ParseWatchLine(R"({"type":"DELETED","object":{"metadata":{"name":"x"}}})", kWatchPods);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->type, WatchEventType::kDeleted);
}

TEST(KubeWireTest, AnExpiredErrorEventMeansGone) {
  const char* line =
      R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)j"
      R"j("message":"too old resource version: 5 (90)","reason":"Expired","code":410}})j";
  StatusOr<PodWatchEvent> e = ParseWatchLine(line, kWatchPods);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kGone);
  EXPECT_EQ(e.status().message(),
            "gone: cannot watch pods in namespace \"ams\" (HTTP 410 Expired): too old resource "
            "version: 5 (90)");
}

TEST(KubeWireTest, OtherErrorEventsAndGarbageAreErrors) {
  EXPECT_EQ(ParseWatchLine(R"({"type":"ERROR","object":{"kind":"Status","code":500,)"
                           R"("reason":"InternalError","message":"etcd"}})",
                           kWatchPods)
                .status()
                .code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(ParseWatchLine("garbage", kWatchPods).status().code(), StatusCode::kInternal);
  EXPECT_EQ(ParseWatchLine(R"({"type":"WEIRD","object":{}})", kWatchPods).status().code(),
            StatusCode::kInternal);
}

TEST(KubeWireTest, TheServicesWatchIsNamespaceWideWithBookmarks) {
  EXPECT_EQ(WatchServicesUrl("ams", "77", 300),
            "/api/v1/namespaces/ams/services?watch=true&allowWatchBookmarks=true"
            "&resourceVersion=77&timeoutSeconds=300");
  EXPECT_EQ(WatchServicesUrl("ams", "", 5),
            "/api/v1/namespaces/ams/services?watch=true&allowWatchBookmarks=true&timeoutSeconds=5");
}

TEST(KubeWireTest, ParsesAServiceListAndServiceWatchLines) {
  StatusOr<ServiceList> list = ParseServiceList(
      R"({"kind":"ServiceList","metadata":{"resourceVersion":"31"},"items":[)"
      R"({"metadata":{"name":"ams-leader","resourceVersion":"30"},"spec":{"selector":{"a":"b"}}},)"
      R"({"metadata":{"name":"other","resourceVersion":"12"},"spec":{}}]})");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->resource_version, "31");
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0].selector, (Labels{{"a", "b"}}));

  const RequestTarget watch{"watch", "services", "", "ams"};
  StatusOr<ServiceWatchEvent> modified = ParseServiceWatchLine(
      R"({"type":"MODIFIED","object":{"kind":"Service","metadata":{"name":"ams-leader",)"
      R"("resourceVersion":"32"},"spec":{"selector":{"role":"leader"}}}})",
      watch);
  ASSERT_TRUE(modified.ok()) << modified.status().ToString();
  EXPECT_EQ(modified->type, WatchEventType::kModified);
  EXPECT_EQ(modified->service.selector, (Labels{{"role", "leader"}}));
  StatusOr<ServiceWatchEvent> bookmark = ParseServiceWatchLine(
      R"({"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":"40"}}})",
      watch);
  ASSERT_TRUE(bookmark.ok());
  EXPECT_EQ(bookmark->service.resource_version, "40");
  StatusOr<ServiceWatchEvent> gone = ParseServiceWatchLine(
      R"j({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",)j"
      R"j("message":"too old resource version: 5 (90)"}})j",
      watch);
  EXPECT_EQ(gone.status().code(), StatusCode::kGone);
  EXPECT_EQ(gone.status().message().rfind("gone: cannot watch services in namespace \"ams\"", 0),
            0u)
      << gone.status().message();
}

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" +
         message + R"(","reason":")" + reason + R"(","code":)" + std::to_string(code) + "}";
}

TEST(KubeWireTest, ForbiddenNamesTheVerbResourceAndNamespaceAndTheFix) {
  std::string server =
      "services \\\"ams-leader\\\" is forbidden: User \\\"system:serviceaccount:ams:ctl\\\" "
      "cannot patch resource \\\"services\\\" in API group \\\"\\\" in the namespace \\\"ams\\\"";
  Status s = ErrorFromResponse(403, StatusBody(403, "Forbidden", server), kPatchService);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "forbidden: cannot patch services \"ams-leader\" in namespace \"ams\" (HTTP 403 "
            "Forbidden): services \"ams-leader\" is forbidden: User "
            "\"system:serviceaccount:ams:ctl\" cannot patch resource \"services\" in API group "
            "\"\" in the namespace \"ams\"; grant it in the controller's Role");
}

TEST(KubeWireTest, UnauthorizedPointsAtTheCredentials) {
  Status s = ErrorFromResponse(401, StatusBody(401, "Unauthorized", "Unauthorized"),
                               {"list", "pods", "", "ams"});
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(),
            "unauthorized: cannot list pods in namespace \"ams\" (HTTP 401 Unauthorized): "
            "Unauthorized; check the controller's credentials (service-account token or "
            "kubeconfig user)");
}

TEST(KubeWireTest, EachHttpStatusMapsToItsCode) {
  struct Case {
    int http;
    const char* reason;
    StatusCode code;
  } cases[] = {
      {400, "BadRequest", StatusCode::kInvalidArgument},
      {404, "NotFound", StatusCode::kNotFound},
      {409, "Conflict", StatusCode::kConflict},
      {409, "AlreadyExists", StatusCode::kConflict},
      {410, "Gone", StatusCode::kGone},
      {415, "UnsupportedMediaType", StatusCode::kInternal},
      {422, "Invalid", StatusCode::kInvalidArgument},
      {429, "TooManyRequests", StatusCode::kUnavailable},
      {500, "InternalError", StatusCode::kUnavailable},
      {503, "ServiceUnavailable", StatusCode::kUnavailable},
  };
  for (const Case& c : cases) {
    Status s = ErrorFromResponse(c.http, StatusBody(c.http, c.reason, "m"), kPatchService);
    EXPECT_EQ(s.code(), c.code) << c.http << " " << c.reason;
    EXPECT_NE(s.message().find("(HTTP " + std::to_string(c.http) + " " + c.reason + "): m"),
              std::string::npos)
        << s.message();
  }
}

TEST(KubeWireTest, TooManyRequestsCarriesRetryAfter) {
  Status s =
      ErrorFromResponse(429, StatusBody(429, "TooManyRequests", "slow down"), kPatchService, "2");
  EXPECT_EQ(s.message(),
            "too many requests: cannot patch services \"ams-leader\" in namespace \"ams\" (HTTP "
            "429 TooManyRequests, retry after 2s): slow down");
}

TEST(KubeWireTest, ABodyThatIsNoStatusIsQuoted) {
  Status s = ErrorFromResponse(502, "<html>bad gateway</html>", kPatchService);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "server error: cannot patch services \"ams-leader\" in namespace \"ams\" (HTTP 502): "
            "<html>bad gateway</html>");
}

TEST(RestKubeApiTest, UnusableTlsMaterialIsAStartUpError) {
  KubeConnection conn;
  conn.server = "https://127.0.0.1:6443";
  conn.ca_pem = "not a certificate";
  conn.source = "kubeconfig /x (context y)";
  StatusOr<std::unique_ptr<RestKubeApi>> api = RestKubeApi::Create(conn);
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(api.status().message().find("TLS settings of kubeconfig /x (context y) are unusable"),
            std::string::npos)
      << api.status().message();
}

TEST(RestKubeApiTest, ABadServerUrlIsAStartUpError) {
  KubeConnection conn;
  conn.server = "ftp://host";
  EXPECT_EQ(RestKubeApi::Create(conn).status().code(), StatusCode::kInvalidArgument);
}

TEST(RestKubeApiTest, TheNamespaceDefaultsToDefault) {
  KubeConnection conn;
  conn.server = "http://127.0.0.1:1";
  StatusOr<std::unique_ptr<RestKubeApi>> api = RestKubeApi::Create(conn);
  ASSERT_TRUE(api.ok()) << api.status().ToString();
  EXPECT_EQ((*api)->Namespace(), "default");
}

TEST(RestKubeApiTest, AnUnreachableServerIsUnavailableAndObserved) {
  KubeConnection conn;
  conn.server = "http://127.0.0.1:1";  // nothing listens on port 1
  conn.namespace_name = "ams";
  RestKubeApiOptions options;
  std::vector<std::pair<std::string, int>> seen;
  options.observer = [&](const std::string& verb, int code, double) {
    seen.emplace_back(verb, code);
  };
  StatusOr<std::unique_ptr<RestKubeApi>> api = RestKubeApi::Create(conn, options);
  ASSERT_TRUE(api.ok());
  StatusOr<PodList> list = (*api)->ListPods("app=ams");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(list.status().message().rfind(
                "cannot list pods in namespace \"ams\": http://127.0.0.1:1: ", 0),
            0u)
      << list.status().message();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("list"), 0));
}

}  // namespace
}  // namespace amsha
