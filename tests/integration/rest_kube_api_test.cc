// RestKubeApi, PodWatcher and ServiceWatcher against the Kubernetes API stand-in
// (tests/standin): HTTPS with the kubeconfig's CA, list + watch + resume,
// relist after 410 in both forms, reconnects after server-side closes and
// cuts, token rotation, error mapping, exact request bodies, timeouts and
// prompt cancellation.

// cpprest's U() macro would break gtest's templates.
#define _TURN_OFF_PLATFORM_STRING

#include "kube/rest_kube_api.h"

#include <cpprest/http_client.h>
#include <cpprest/json.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "kube/event_recorder.h"
#include "kube/kube_connection.h"
#include "kube/pod_watcher.h"
#include "kube/service_watcher.h"
#include "routing/routing_reconciler.h"
#include "support/standin_process.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::StandinOptions;
using testing::StandinPod;
using testing::StandinProcess;
namespace json = web::json;

using Clock = std::chrono::steady_clock;

json::value Parse(const std::string& text) { return json::value::parse(text); }

// Runs WatchPods on its own thread and collects what it delivers.
class WatchRun {
 public:
  WatchRun(KubeApi* api, std::string selector, std::string rv)
      : thread_([this, api, selector, rv] {
          Status s = api->WatchPods(
              selector, rv,
              [this](const PodWatchEvent& e) {
                std::lock_guard<std::mutex> lock(mu_);
                events_.push_back(e);
                cv_.notify_all();
              },
              cancel_);
          std::lock_guard<std::mutex> lock(mu_);
          result_ = s;
          done_ = true;
          ended_at_ = Clock::now();
          cv_.notify_all();
        }) {}
  ~WatchRun() {
    cancel_.Cancel();
    thread_.join();
  }

  // Events other than bookmarks.
  std::vector<PodWatchEvent> Changes() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<PodWatchEvent> out;
    for (const auto& e : events_) {
      if (e.type != WatchEventType::kBookmark) out.push_back(e);
    }
    return out;
  }
  bool WaitForChanges(size_t n, milliseconds timeout = seconds(10)) {
    auto deadline = Clock::now() + timeout;
    while (Changes().size() < n) {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return false;
    }
    return true;
  }
  bool WaitDone(milliseconds timeout = seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return done_; });
  }
  Status result() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_;
  }
  // Cancels and returns how long the watch took to return.
  Clock::duration CancelAndTime() {
    auto start = Clock::now();
    cancel_.Cancel();
    WaitDone(seconds(30));
    std::lock_guard<std::mutex> lock(mu_);
    return ended_at_ - start;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PodWatchEvent> events_;
  Status result_;
  bool done_ = false;
  Clock::time_point ended_at_;
  Cancellation cancel_;
  std::thread thread_;
};

class RestKubeApiStandinTest : public ::testing::Test {
 protected:
  void SetUp() override { StartStandin({}); }

  void StartStandin(StandinOptions options) {
    standin_.reset();
    standin_ = std::make_unique<StandinProcess>(options);
    Status s = standin_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    // A list of the empty store is at resourceVersion "0", which a watch
    // reads as "any version"; real clusters never are.
    CreatePod("seed", {{"role", "seed"}});
  }

  KubeConnection Connection() {
    StatusOr<KubeConnection> conn = LoadKubeconfig(standin_->kubeconfig());
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? *conn : KubeConnection{};
  }

  std::unique_ptr<RestKubeApi> Client(RestKubeApiOptions options = {},
                                      std::optional<KubeConnection> conn = std::nullopt) {
    StatusOr<std::unique_ptr<RestKubeApi>> api =
        RestKubeApi::Create(conn ? *conn : Connection(), options);
    EXPECT_TRUE(api.ok()) << api.status().ToString();
    return api.ok() ? std::move(*api) : nullptr;
  }

  // Returns the pod's resourceVersion.
  std::string CreatePod(const std::string& name, std::map<std::string, std::string> labels,
                        bool ready = true) {
    StandinPod pod;
    pod.name = name;
    pod.labels = std::move(labels);
    pod.ready = ready;
    pod.ports = {{"rest", 1630}};
    testing::AdminResponse r = standin_->CreatePod(pod);
    EXPECT_TRUE(r.ok()) << r.code << " " << r.body;
    return r.ok() ? Parse(r.body).at("metadata").at("resourceVersion").as_string() : "";
  }

  // Creates a Service through the API (the controller never does: Helm does).
  void CreateService(const std::string& name, const std::map<std::string, std::string>& selector) {
    web::http::client::http_client_config config;
    config.set_validate_certificates(false);
    web::http::client::http_client client(standin_->api_url(), config);
    json::value body = json::value::object();
    body["apiVersion"] = json::value::string("v1");
    body["kind"] = json::value::string("Service");
    body["metadata"]["name"] = json::value::string(name);
    for (const auto& [k, v] : selector) body["spec"]["selector"][k] = json::value::string(v);
    json::value port = json::value::object();
    port["name"] = json::value::string("rest");
    port["port"] = json::value::number(1630);
    port["targetPort"] = json::value::number(1630);
    body["spec"]["ports"][0] = port;
    web::http::http_request request(web::http::methods::POST);
    request.set_request_uri("/api/v1/namespaces/" + standin_->ns() + "/services");
    request.headers().add("Authorization", "Bearer " + standin_->token());
    request.set_body(body);
    web::http::http_response response = client.request(request).get();
    ASSERT_EQ(response.status_code(), 201) << response.extract_utf8string(true).get();
  }

  // The recorded API requests with this method whose path starts with `prefix`.
  std::vector<json::value> Requests(const std::string& method, const std::string& prefix) {
    std::vector<json::value> out;
    json::value all = Parse(standin_->Requests());
    for (const json::value& r : all.as_array()) {
      if (r.at("method").as_string() == method && r.at("path").as_string().rfind(prefix, 0) == 0) {
        out.push_back(r);
      }
    }
    return out;
  }

  std::string PodsPath() const { return "/api/v1/namespaces/" + standin_->ns() + "/pods"; }

  std::unique_ptr<StandinProcess> standin_;
};

std::string Names(const std::vector<Pod>& pods) {
  std::string out;
  for (const Pod& p : pods) out += p.name + " ";
  return out;
}

std::string NamesAndVersions(std::vector<Pod> pods) {
  std::sort(pods.begin(), pods.end(), [](const Pod& a, const Pod& b) { return a.name < b.name; });
  std::string out;
  for (const Pod& p : pods) out += p.name + "@" + p.resource_version + " ";
  return out;
}

// --- Listing, TLS, selectors ---

TEST_F(RestKubeApiStandinTest, ListsPodsOverHttpsWithTheKubeconfigCa) {
  CreatePod("ams-0", {{"app", "ams"}});
  CreatePod("ams-1", {{"app", "ams"}}, /*ready=*/false);
  CreatePod("web-0", {{"app", "web"}});
  auto api = Client();
  ASSERT_EQ(standin_->api_url().rfind("https://", 0), 0u);
  ASSERT_FALSE(Connection().ca_pem.empty());

  StatusOr<PodList> list = api->ListPods("app=ams");

  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(Names(list->items), "ams-0 ams-1 ");
  EXPECT_FALSE(list->resource_version.empty());
  EXPECT_TRUE(list->items[0].ready);
  EXPECT_FALSE(list->items[1].ready);
  EXPECT_EQ(list->items[0].phase, "Running");
  EXPECT_EQ(list->items[0].pod_ip.rfind("127.0.0.", 0), 0u);
  EXPECT_FALSE(list->items[0].uid.empty());
  EXPECT_EQ(list->items[0].namespace_name, standin_->ns());
}

TEST_F(RestKubeApiStandinTest, SetBasedSelectorsReachTheServerEncoded) {
  CreatePod("ams-0", {{"app", "ams"}});
  CreatePod("ams-1", {{"app", "ams"}, {"canary", "true"}});
  CreatePod("x-0", {{"app", "x"}});
  CreatePod("web-0", {{"app", "web"}});
  auto api = Client();

  StatusOr<PodList> list = api->ListPods("app in (ams,x),!canary");

  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(Names(list->items), "ams-0 x-0 ");
  std::vector<json::value> gets = Requests("GET", PodsPath());
  ASSERT_FALSE(gets.empty());
  EXPECT_EQ(gets.back().at("query").as_string(),
            "labelSelector=app%20in%20%28ams%2Cx%29%2C%21canary");
}

TEST_F(RestKubeApiStandinTest, AServerCertificateFromAnotherCaIsRejectedUnlessInsecure) {
  KubeConnection conn = Connection();
  conn.ca_pem.clear();  // the system roots do not know the stand-in's CA
  auto untrusting = Client({}, conn);
  StatusOr<PodList> list = untrusting->ListPods("");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kUnavailable);

  conn.insecure_skip_tls_verify = true;
  auto insecure = Client({}, conn);
  EXPECT_TRUE(insecure->ListPods("").ok());
}

// --- Watch ---

TEST_F(RestKubeApiStandinTest, WatchStreamsChangesAndResumesFromAResourceVersion) {
  CreatePod("ams-0", {{"app", "ams"}});
  auto api = Client();
  StatusOr<PodList> list = api->ListPods("app=ams");
  ASSERT_TRUE(list.ok());

  std::string modified_rv;
  {
    WatchRun watch(api.get(), "app=ams", list->resource_version);
    CreatePod("ams-1", {{"app", "ams"}});
    CreatePod("web-0", {{"app", "web"}});  // not ours: never delivered
    ASSERT_TRUE(standin_->SetReady("ams-0", false).ok());
    ASSERT_TRUE(standin_->DeletePod("ams-1", 0).ok());
    ASSERT_TRUE(watch.WaitForChanges(3));
    std::vector<PodWatchEvent> changes = watch.Changes();
    ASSERT_EQ(changes.size(), 3u);
    EXPECT_EQ(changes[0].type, WatchEventType::kAdded);
    EXPECT_EQ(changes[0].pod.name, "ams-1");
    EXPECT_EQ(changes[1].type, WatchEventType::kModified);
    EXPECT_EQ(changes[1].pod.name, "ams-0");
    EXPECT_FALSE(changes[1].pod.ready);
    EXPECT_EQ(changes[2].type, WatchEventType::kDeleted);
    EXPECT_EQ(changes[2].pod.name, "ams-1");
    modified_rv = changes[1].pod.resource_version;
    EXPECT_LT(watch.CancelAndTime(), seconds(1));
    EXPECT_EQ(watch.result().code(), StatusCode::kCancelled);
  }
  // Resuming from the MODIFIED event's version replays only what followed.
  WatchRun resumed(api.get(), "app=ams", modified_rv);
  ASSERT_TRUE(resumed.WaitForChanges(1));
  std::vector<PodWatchEvent> replay = resumed.Changes();
  EXPECT_EQ(replay[0].type, WatchEventType::kDeleted);
  EXPECT_EQ(replay[0].pod.name, "ams-1");
  std::vector<json::value> watches = Requests("GET", PodsPath());
  ASSERT_FALSE(watches.empty());
  EXPECT_NE(watches.back().at("query").as_string().find("resourceVersion=" + modified_rv),
            std::string::npos);
}

TEST_F(RestKubeApiStandinTest, AServerSideTimeoutEndsTheWatchNormally) {
  RestKubeApiOptions options;
  options.watch_timeout = seconds(1);  // asked of the server as timeoutSeconds=1
  auto api = Client(options);
  StatusOr<PodList> list = api->ListPods("");
  ASSERT_TRUE(list.ok());
  WatchRun watch(api.get(), "", list->resource_version);
  ASSERT_TRUE(watch.WaitDone(seconds(10)));
  EXPECT_TRUE(watch.result().ok()) << watch.result().ToString();
}

TEST_F(RestKubeApiStandinTest, AnHttp410ForAWatchIsGone) {
  auto api = Client();
  testing::StandinFault fault;
  fault.method = "GET";
  fault.path_prefix = PodsPath();
  fault.watch = true;
  fault.code = 410;
  fault.reason = "Expired";
  ASSERT_TRUE(standin_->InjectFault(fault).ok());
  WatchRun watch(api.get(), "", "1");
  ASSERT_TRUE(watch.WaitDone());
  EXPECT_EQ(watch.result().code(), StatusCode::kGone) << watch.result().ToString();
  EXPECT_NE(watch.result().message().find("(HTTP 410 Expired)"), std::string::npos);
}

TEST_F(RestKubeApiStandinTest, AnExpiredErrorInTheStreamAfterCompactionIsGone) {
  auto api = Client();
  StatusOr<PodList> list = api->ListPods("");
  ASSERT_TRUE(list.ok());
  CreatePod("ams-0", {{"app", "ams"}});
  ASSERT_TRUE(standin_->Compact().ok());
  WatchRun watch(api.get(), "", list->resource_version);
  ASSERT_TRUE(watch.WaitDone());
  EXPECT_EQ(watch.result().code(), StatusCode::kGone) << watch.result().ToString();
  EXPECT_TRUE(watch.Changes().empty());
}

TEST_F(RestKubeApiStandinTest, ACutWatchIsUnavailable) {
  auto api = Client();
  StatusOr<PodList> list = api->ListPods("");
  ASSERT_TRUE(list.ok());
  WatchRun watch(api.get(), "", list->resource_version);
  CreatePod("ams-0", {{"app", "ams"}});
  ASSERT_TRUE(watch.WaitForChanges(1));  // the stream is open
  ASSERT_TRUE(standin_->CutWatches().ok());
  ASSERT_TRUE(watch.WaitDone());
  EXPECT_EQ(watch.result().code(), StatusCode::kUnavailable) << watch.result().ToString();
}

TEST_F(RestKubeApiStandinTest, CancelEndsASilentWatchWithinASecond) {
  auto api = Client();
  StatusOr<PodList> list = api->ListPods("");
  ASSERT_TRUE(list.ok());
  WatchRun watch(api.get(), "", list->resource_version);
  CreatePod("ams-0", {{"app", "ams"}});
  ASSERT_TRUE(watch.WaitForChanges(1));
  ASSERT_TRUE(standin_->Pause(30).ok());  // the stream goes silent
  EXPECT_LT(watch.CancelAndTime(), seconds(1));
  EXPECT_EQ(watch.result().code(), StatusCode::kCancelled);
  standin_->Pause(0);
}

TEST_F(RestKubeApiStandinTest, RequestsTimeOutWhenTheServerAnswersNothing) {
  RestKubeApiOptions options;
  options.request_timeout = milliseconds(1000);
  auto api = Client(options);
  ASSERT_TRUE(api->ListPods("").ok());  // a pooled connection exists; it must not help
  ASSERT_TRUE(standin_->Pause(20).ok());
  auto start = Clock::now();
  StatusOr<PodList> list = api->ListPods("");
  auto took = Clock::now() - start;
  standin_->Pause(0);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(list.status().message().find("no answer within 1s"), std::string::npos)
      << list.status().message();
  EXPECT_LT(took, seconds(5));
}

// --- PodWatcher over the real client ---

class PodWatcherStandinTest : public RestKubeApiStandinTest {
 protected:
  void SetUp() override {
    StandinOptions options;
    options.watch_timeout_seconds = 1;  // the server closes every watch after a second
    StartStandin(options);
    api_ = Client();
    PodWatcher::Options w;
    w.label_selector = "app=ams";
    w.initial_backoff = milliseconds(50);
    w.max_backoff = milliseconds(500);
    watcher_ = std::make_unique<PodWatcher>(api_.get(), w);
    watcher_->SetListener([this](const PodWatcher::Change& c) {
      std::lock_guard<std::mutex> lock(mu_);
      if (c.type == WatchEventType::kAdded) {
        if (!replayed_.emplace(c.pod.name, c.pod).second) duplicates_ += "+" + c.pod.name + " ";
      } else if (c.type == WatchEventType::kModified) {
        if (!replayed_.count(c.pod.name)) duplicates_ += "~" + c.pod.name + " ";
        replayed_[c.pod.name] = c.pod;
      } else if (replayed_.erase(c.pod.name) != 1) {
        duplicates_ += "-" + c.pod.name + " ";
      }
    });
  }
  void TearDown() override { watcher_->Stop(); }

  // Waits until the cache equals a fresh list from the server; the
  // notifications replayed from the start must equal it too.
  void ExpectCacheMatchesServer() {
    std::string server;
    auto deadline = Clock::now() + seconds(15);
    uint64_t seen = watcher_->Generation();
    while (Clock::now() < deadline) {
      StatusOr<PodList> list = api_->ListPods("app=ams");
      ASSERT_TRUE(list.ok()) << list.status().ToString();
      server = NamesAndVersions(list->items);
      // The listener runs just after the cache changes: wait for both.
      if (watcher_->Synced() && NamesAndVersions(watcher_->Snapshot()) == server &&
          Replayed() == server) {
        break;
      }
      seen = watcher_->WaitForChange(seen, milliseconds(200));
    }
    EXPECT_TRUE(watcher_->Synced());
    EXPECT_EQ(NamesAndVersions(watcher_->Snapshot()), server);
    EXPECT_EQ(Replayed(), server);
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(duplicates_, "");
  }

  // The cache rebuilt from the notifications alone.
  std::string Replayed() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Pod> replayed;
    for (const auto& [name, pod] : replayed_) replayed.push_back(pod);
    return NamesAndVersions(replayed);
  }

  // Waits for the watcher to open a new watch (after a server-side close).
  void WaitForAnotherWatch() {
    int watches = watcher_->stats().watches;
    auto deadline = Clock::now() + seconds(10);
    while (watcher_->stats().watches == watches && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_GT(watcher_->stats().watches, watches);
  }

  std::unique_ptr<RestKubeApi> api_;
  std::unique_ptr<PodWatcher> watcher_;
  std::mutex mu_;
  std::map<std::string, Pod> replayed_;
  std::string duplicates_;
};

TEST_F(PodWatcherStandinTest, KeepsTheCacheExactAcrossServerClosesAndCuts) {
  CreatePod("ams-0", {{"app", "ams"}});
  watcher_->Start();
  CreatePod("ams-1", {{"app", "ams"}});
  ExpectCacheMatchesServer();

  // Several server-side closes (1 s each) with changes in between.
  for (int i = 0; i < 3; ++i) {
    CreatePod("ams-" + std::to_string(i + 2), {{"app", "ams"}});
    ASSERT_TRUE(standin_->SetReady("ams-0", i % 2 == 1).ok());
    WaitForAnotherWatch();
  }
  ExpectCacheMatchesServer();

  // Abrupt cuts, with changes made right after.
  ASSERT_TRUE(standin_->CutWatches().ok());
  ASSERT_TRUE(standin_->DeletePod("ams-1", 0).ok());
  CreatePod("web-0", {{"app", "web"}});
  ASSERT_TRUE(standin_->CutWatches().ok());
  ASSERT_TRUE(standin_->SetReady("ams-2", false).ok());
  ExpectCacheMatchesServer();

  PodWatcher::Stats stats = watcher_->stats();
  EXPECT_GE(stats.watches, 4);
  EXPECT_EQ(stats.relists, 0);
  EXPECT_EQ(stats.lists, 1);
}

TEST_F(PodWatcherStandinTest, RelistsAfterAnHttp410AndAfterAnInStreamExpiry) {
  CreatePod("ams-0", {{"app", "ams"}});
  CreatePod("ams-1", {{"app", "ams"}});
  watcher_->Start();
  ExpectCacheMatchesServer();

  // HTTP 410 on the next watch request.
  testing::StandinFault fault;
  fault.method = "GET";
  fault.path_prefix = PodsPath();
  fault.watch = true;
  fault.code = 410;
  fault.reason = "Expired";
  ASSERT_TRUE(standin_->InjectFault(fault).ok());
  ASSERT_TRUE(standin_->CutWatches().ok());
  CreatePod("ams-2", {{"app", "ams"}});
  ExpectCacheMatchesServer();
  EXPECT_GE(watcher_->stats().relists, 1);

  // In-stream expiry: while the API is paused (open watches silent, new
  // requests hanging) pods change and the window is compacted, so the
  // watcher's resume point is gone once the API answers again.
  int relists = watcher_->stats().relists;
  ASSERT_TRUE(standin_->Pause(30).ok());
  ASSERT_TRUE(standin_->DeletePod("ams-0", 0).ok());
  ASSERT_TRUE(standin_->SetReady("ams-1", false).ok());
  CreatePod("ams-3", {{"app", "ams"}});
  ASSERT_TRUE(standin_->Compact().ok());
  ASSERT_TRUE(standin_->CutWatches().ok());
  ASSERT_TRUE(standin_->Pause(0).ok());
  ExpectCacheMatchesServer();
  EXPECT_GT(watcher_->stats().relists, relists);
  EXPECT_FALSE(watcher_->Get("ams-0").has_value());
  EXPECT_FALSE(watcher_->Get("ams-1")->ready);
}

TEST_F(PodWatcherStandinTest, StopEndsAHangingFirstListWithinASecond) {
  ASSERT_TRUE(standin_->Pause(30).ok());  // the list will get no answer
  watcher_->Start();
  std::this_thread::sleep_for(milliseconds(300));  // let the list go out
  auto start = Clock::now();
  watcher_->Stop();
  EXPECT_LT(Clock::now() - start, seconds(1));
  EXPECT_FALSE(watcher_->Synced());
  standin_->Pause(0);
}

TEST_F(PodWatcherStandinTest, StopEndsAnOpenWatchWithinASecond) {
  watcher_->Start();
  ExpectCacheMatchesServer();
  ASSERT_TRUE(standin_->Pause(30).ok());  // even a silent stream
  auto start = Clock::now();
  watcher_->Stop();
  EXPECT_LT(Clock::now() - start, seconds(1));
  standin_->Pause(0);
}

// --- ServiceWatcher over the real client ---

class ServiceWatcherStandinTest : public RestKubeApiStandinTest {
 protected:
  void SetUp() override {
    StandinOptions options;
    options.watch_timeout_seconds = 1;  // the server closes every watch after a second
    StartStandin(options);
    CreateService("ams-leader", {{"app", "ams"}});
    CreateService("other", {{"app", "web"}});
    api_ = Client();
    other_client_ = Client();
    ServiceWatcher::Options w;
    w.initial_backoff = milliseconds(50);
    w.max_backoff = milliseconds(500);
    watcher_ = std::make_unique<ServiceWatcher>(api_.get(), w);
    watcher_->SetListener([this](const ServiceWatcher::Change& c) {
      std::lock_guard<std::mutex> lock(mu_);
      changed_.push_back(c.service.name);
    });
  }
  void TearDown() override { watcher_->Stop(); }

  static std::string Describe(const std::vector<Service>& services) {
    std::string out;
    for (const Service& s : services) {
      out += s.name + "@" + s.resource_version + "{";
      for (const auto& [k, v] : s.selector) out += k + "=" + v + ",";
      out += "} ";
    }
    return out;
  }

  // Waits until the cache equals a fresh list from the server.
  void ExpectCacheMatchesServer() {
    std::string server;
    auto deadline = Clock::now() + seconds(15);
    uint64_t seen = watcher_->Generation();
    while (Clock::now() < deadline) {
      Cancellation never;
      StatusOr<ServiceList> list = other_client_->ListServices(never);
      ASSERT_TRUE(list.ok()) << list.status().ToString();
      server = Describe(list->items);
      if (watcher_->Synced() && Describe(watcher_->Snapshot()) == server) break;
      seen = watcher_->WaitForChange(seen, milliseconds(200));
    }
    EXPECT_TRUE(watcher_->Synced());
    EXPECT_EQ(Describe(watcher_->Snapshot()), server);
  }

  Service PatchSelector(const std::string& name, Labels selector) {
    ServicePatch patch;
    patch.selector = std::move(selector);
    StatusOr<Service> patched = other_client_->PatchService(name, patch);
    EXPECT_TRUE(patched.ok()) << patched.status().ToString();
    return patched.ok() ? *patched : Service{};
  }

  std::string ServicesPath() const { return "/api/v1/namespaces/" + standin_->ns() + "/services"; }

  std::unique_ptr<RestKubeApi> api_;
  std::unique_ptr<RestKubeApi> other_client_;
  std::unique_ptr<ServiceWatcher> watcher_;
  std::mutex mu_;
  std::vector<std::string> changed_;
};

TEST_F(ServiceWatcherStandinTest, SeesAPatchMadeByAnotherClientAndWakesItsListener) {
  watcher_->Start();
  ExpectCacheMatchesServer();
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed_.clear();
  }
  Service patched = PatchSelector("ams-leader", {{"app", "ams"}, {"role", "leader"}});
  ExpectCacheMatchesServer();
  EXPECT_EQ(watcher_->Get("ams-leader")->resource_version, patched.resource_version);
  // The listener runs just after the cache changes.
  auto deadline = Clock::now() + seconds(10);
  std::vector<std::string> changed;
  while (Clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      changed = changed_;
    }
    if (!changed.empty()) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(changed, std::vector<std::string>{"ams-leader"});
  // Across server-side closes (1 s) the cache stays exact with one list.
  CreateService("late", {{"app", "late"}});
  std::this_thread::sleep_for(milliseconds(1500));
  ExpectCacheMatchesServer();
  EXPECT_EQ(watcher_->stats().lists, 1);
  EXPECT_GE(watcher_->stats().watches, 2);
  // The watch is the namespace's collection, with bookmarks.
  std::string query;
  for (const json::value& r : Requests("GET", ServicesPath())) {
    if (r.at("verb").as_string() == "watch") query = r.at("query").as_string();
  }
  EXPECT_NE(query.find("watch=true"), std::string::npos) << query;
  EXPECT_NE(query.find("allowWatchBookmarks=true"), std::string::npos) << query;
  EXPECT_EQ(query.find("labelSelector"), std::string::npos) << query;
}

TEST_F(ServiceWatcherStandinTest, RelistsAfterAnHttp410) {
  watcher_->Start();
  ExpectCacheMatchesServer();
  testing::StandinFault fault;
  fault.method = "GET";
  fault.path_prefix = ServicesPath();
  fault.watch = true;
  fault.code = 410;
  fault.reason = "Expired";
  ASSERT_TRUE(standin_->InjectFault(fault).ok());
  ASSERT_TRUE(standin_->CutWatches().ok());
  PatchSelector("other", {{"app", "web"}, {"v", "2"}});
  ExpectCacheMatchesServer();
  EXPECT_GE(watcher_->stats().relists, 1);
}

// A Role without `watch services` (an old chart): the watch is refused with
// one line naming the verb, resource, namespace and the fix; once granted,
// the watch resumes from a resourceVersion compacted meanwhile, gets the
// in-stream 410 (ERROR event), lists again and is exact.
TEST_F(ServiceWatcherStandinTest, AForbiddenWatchNamesTheMissingRuleAndAnExpiredOneRelists) {
  watcher_->Start();
  ExpectCacheMatchesServer();
  ASSERT_TRUE(standin_->Forbid("watch", "services", standin_->ns()).ok());
  ASSERT_TRUE(standin_->CutWatches().ok());
  auto deadline = Clock::now() + seconds(10);
  while (watcher_->LastError().code() != StatusCode::kPermissionDenied && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  Status refused = watcher_->LastError();
  ASSERT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.ToString();
  EXPECT_EQ(refused.message().rfind("forbidden: cannot watch services in namespace \"" +
                                        standin_->ns() + "\" (HTTP 403 Forbidden): ",
                                    0),
            0u)
      << refused.message();
  EXPECT_NE(refused.message().find("; grant it in the controller's Role"), std::string::npos);
  EXPECT_EQ(refused.message().find('\n'), std::string::npos);
  EXPECT_TRUE(watcher_->Synced()) << "the cache stays usable (and ages) while refused";

  int relists = watcher_->stats().relists;
  PatchSelector("ams-leader", {{"app", "ams"}, {"role", "leader"}});
  CreateService("late", {{"app", "late"}});
  ASSERT_TRUE(standin_->Compact().ok());
  ASSERT_TRUE(standin_->ClearForbids().ok());
  ExpectCacheMatchesServer();
  EXPECT_GT(watcher_->stats().relists, relists);
  EXPECT_TRUE(watcher_->LastError().ok()) << watcher_->LastError().ToString();
}

// The Role the chart grants, from controller/kube/api_permissions.json
// (managed Services: `managed`), as the stand-in's POST /admin/role body;
// `drop` removes the rule of that resource with those verbs (an old chart).
std::string RoleFromPermissions(const std::string& ns, const std::vector<std::string>& managed,
                                const std::string& drop_resource = "",
                                const std::string& drop_verb = "") {
  std::ifstream in(std::string(AMS_HA_SOURCE_DIR) + "/controller/kube/api_permissions.json");
  std::stringstream text;
  text << in.rdbuf();
  json::value role = json::value::object();
  role["namespace"] = json::value::string(ns);
  role["rules"] = json::value::array();
  size_t i = 0;
  json::value permissions = Parse(text.str());
  for (const json::value& rule : permissions.at("rules").as_array()) {
    json::value out = json::value::object();
    out["resources"][0] = rule.at("resource");
    out["verbs"] = json::value::array();
    size_t v = 0;
    for (const json::value& verb : rule.at("verbs").as_array()) {
      if (rule.at("resource").as_string() == drop_resource && verb.as_string() == drop_verb) {
        continue;
      }
      out["verbs"][v++] = verb;
    }
    if (rule.has_field("resourceNames")) {
      out["resourceNames"] = json::value::array();
      for (size_t n = 0; n < managed.size(); ++n) {
        out["resourceNames"][n] = json::value::string(managed[n]);
      }
    }
    role["rules"][i++] = out;
  }
  return role.serialize();
}

// The reconciler over the watch cache under exactly the chart's Role: the
// cache syncs (list and watch of the namespace's Services are granted), the
// first pass patches without a GET, and a pass with nothing to change sends
// no request at all.
TEST_F(ServiceWatcherStandinTest, UnderTheChartsRoleAPassWithNothingToChangeSendsNoRequest) {
  ASSERT_TRUE(standin_->SetRole(RoleFromPermissions(standin_->ns(), {"ams-leader"})).ok());
  CreatePod("ams-0", {{"app", "ams"}});
  CreatePod("ams-1", {{"app", "ams"}});
  watcher_->Start();
  ExpectCacheMatchesServer();
  ClusterConfig cluster;
  cluster.name = "prod";
  cluster.service = "ams-leader";
  RoutingReconciler reconciler(cluster, LabelsConfig(), api_.get(), watcher_.get());
  auto pass = [&] {
    StatusOr<PodList> pods = api_->ListPods("app=ams");
    EXPECT_TRUE(pods.ok()) << pods.status().ToString();
    const Pod* leader = nullptr;
    for (const Pod& p : pods->items) {
      if (p.name == "ams-1") leader = &p;
    }
    return reconciler.Reconcile(leader, "node-1", pods->items, "2026-01-01T00:00:00Z");
  };
  std::string service_path = ServicesPath() + "/ams-leader";
  ASSERT_EQ(standin_->Admin("DELETE", "/admin/record/requests").code, 200);
  RoutingResult first = pass();
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_TRUE(first.selector_changed);
  EXPECT_EQ(Requests("GET", service_path).size(), 0u);
  EXPECT_EQ(Requests("PATCH", service_path).size(), 1u);
  ExpectCacheMatchesServer();  // the watch delivered our patch

  ASSERT_EQ(standin_->Admin("DELETE", "/admin/record/requests").code, 200);
  RoutingResult second = pass();
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(second.patches, 0);
  EXPECT_EQ(Requests("GET", service_path).size(), 0u);
  EXPECT_EQ(Requests("PATCH", service_path).size(), 0u);
  EXPECT_EQ(Requests("PATCH", PodsPath()).size(), 0u);
}

// The Role of an older chart (no `list services`): the cache never syncs and
// says so in one line naming the missing rule; the reconciler still works by
// reading its Service by name, as before the cache.
TEST_F(ServiceWatcherStandinTest, UnderARoleWithoutListServicesTheErrorNamesTheRule) {
  ASSERT_TRUE(
      standin_->SetRole(RoleFromPermissions(standin_->ns(), {"ams-leader"}, "services", "list"))
          .ok());
  watcher_->Start();
  auto deadline = Clock::now() + seconds(10);
  while (watcher_->LastError().ok() && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  Status refused = watcher_->LastError();
  EXPECT_FALSE(watcher_->Synced());
  ASSERT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.ToString();
  EXPECT_EQ(refused.message().rfind("forbidden: cannot list services in namespace \"" +
                                        standin_->ns() + "\" (HTTP 403 Forbidden): ",
                                    0),
            0u)
      << refused.message();
  EXPECT_NE(refused.message().find("; grant it in the controller's Role"), std::string::npos);

  CreatePod("ams-0", {{"app", "ams"}});
  ClusterConfig cluster;
  cluster.service = "ams-leader";
  RoutingReconciler reconciler(cluster, LabelsConfig(), api_.get(), watcher_.get());
  StatusOr<PodList> pods = api_->ListPods("app=ams");
  ASSERT_TRUE(pods.ok());
  RoutingResult r = reconciler.Reconcile(&pods->items[0], "n", pods->items, "");
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  // And a Service outside resourceNames cannot be read: RBAC, not the cache.
  EXPECT_EQ(api_->GetService("other").status().code(), StatusCode::kPermissionDenied);
}

// --- Authentication ---

TEST_F(RestKubeApiStandinTest, ARotatedTokenFileIsPickedUpWithoutRestart) {
  auto api = Client();
  ASSERT_TRUE(api->ListPods("").ok());
  // No grace: the old token stops working at once, so only a re-read helps.
  ASSERT_TRUE(standin_->RotateToken("rotated-token-1", 0).ok());
  StatusOr<PodList> list = api->ListPods("");
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_TRUE(standin_->RotateToken("rotated-token-2", 0).ok());
  StatusOr<PodList> watch_list = api->ListPods("");
  ASSERT_TRUE(watch_list.ok()) << watch_list.status().ToString();
  // A watch opened after the rotation authenticates with the new token too.
  WatchRun watch(api.get(), "", watch_list->resource_version);
  CreatePod("ams-0", {{"app", "ams"}});
  EXPECT_TRUE(watch.WaitForChanges(1));
}

TEST_F(RestKubeApiStandinTest, AWrongTokenIsUnauthenticatedWithTheFix) {
  KubeConnection conn = Connection();
  conn.token = "wrong";
  conn.token_file.clear();
  auto api = Client({}, conn);
  StatusOr<PodList> list = api->ListPods("app=ams");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(list.status().message().rfind("unauthorized: cannot list pods in namespace \"" +
                                              standin_->ns() + "\" (HTTP 401 Unauthorized): ",
                                          0),
            0u)
      << list.status().message();
  EXPECT_NE(list.status().message().find("check the controller's credentials"), std::string::npos);
}

TEST_F(RestKubeApiStandinTest, ForbiddenNamesTheVerbResourceAndNamespace) {
  CreateService("ams-leader", {{"app", "ams"}});
  ASSERT_TRUE(standin_->Forbid("patch", "services", standin_->ns()).ok());
  auto api = Client();
  ServicePatch patch;
  patch.selector = Labels{{"app", "ams"}, {"role", "leader"}};
  StatusOr<Service> svc = api->PatchService("ams-leader", patch);
  ASSERT_FALSE(svc.ok());
  EXPECT_EQ(svc.status().code(), StatusCode::kPermissionDenied);
  const std::string& m = svc.status().message();
  std::string ns = standin_->ns();
  EXPECT_EQ(m.rfind("forbidden: cannot patch services \"ams-leader\" in namespace \"" + ns +
                        "\" (HTTP 403 Forbidden): services \"ams-leader\" is forbidden: User ",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("cannot patch resource \"services\" in API group \"\" in the namespace \"" + ns +
                   "\"; grant it in the controller's Role"),
            std::string::npos)
      << m;
}

// --- Writes and their exact bodies ---

TEST_F(RestKubeApiStandinTest, PodLabelPatchIsAMergePatchThatRemovesWithNull) {
  CreatePod("ams-0", {{"app", "ams"}, {"stale", "x"}});
  auto api = Client();
  StatusOr<Pod> pod =
      api->PatchPodLabels("ams-0", {{"amoro.apache.org/ha-role", "leader"}, {"stale", {}}});
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  EXPECT_EQ(pod->labels, (Labels{{"app", "ams"}, {"amoro.apache.org/ha-role", "leader"}}));

  std::vector<json::value> patches = Requests("PATCH", PodsPath() + "/ams-0");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].at("contentType").as_string(), "application/merge-patch+json");
  EXPECT_EQ(patches[0].at("body").as_string(),
            R"({"metadata":{"labels":{"amoro.apache.org/ha-role":"leader","stale":null}}})");
  EXPECT_EQ(patches[0].at("code").as_integer(), 200);
}

TEST_F(RestKubeApiStandinTest, PatchingAMissingPodIsNotFound) {
  auto api = Client();
  StatusOr<Pod> pod = api->PatchPodLabels("nope", {{"a", "b"}});
  ASSERT_FALSE(pod.ok());
  EXPECT_EQ(pod.status().code(), StatusCode::kNotFound);
  EXPECT_NE(pod.status().message().find("(HTTP 404 NotFound): pods \"nope\" not found"),
            std::string::npos)
      << pod.status().message();
}

TEST_F(RestKubeApiStandinTest, ServicePatchReplacesTheSelectorWithAVersionPrecondition) {
  CreateService("ams-leader", {{"app", "ams"}, {"amoro.apache.org/ha-pod", "ams-0"}});
  auto api = Client();
  StatusOr<Service> before = api->GetService("ams-leader");
  ASSERT_TRUE(before.ok()) << before.status().ToString();

  ServicePatch patch;
  patch.selector = Labels{{"app", "ams"}, {"amoro.apache.org/ha-role", "leader"}};
  patch.annotations = {{"amoro.apache.org/leader", "ams-1"}};
  StatusOr<Service> after = api->PatchService("ams-leader", patch);

  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->selector, *patch.selector);  // the old key is gone
  EXPECT_EQ(after->annotations.at("amoro.apache.org/leader"), "ams-1");
  EXPECT_NE(after->resource_version, before->resource_version);
  std::vector<json::value> patches =
      Requests("PATCH", "/api/v1/namespaces/" + standin_->ns() + "/services/ams-leader");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].at("contentType").as_string(), "application/merge-patch+json");
  EXPECT_EQ(patches[0].at("body").as_string(),
            R"({"metadata":{"annotations":{"amoro.apache.org/leader":"ams-1"},)"
            R"("resourceVersion":")" +
                before->resource_version +
                R"("},"spec":{"selector":{"amoro.apache.org/ha-pod":null,)"
                R"("amoro.apache.org/ha-role":"leader","app":"ams"}}})");
  // The stand-in's record: the selector moved in one step.
  json::value record = Parse(standin_->SelectorRecord());
  json::value last = record.as_array().at(record.as_array().size() - 1);
  EXPECT_EQ(last.at("selector").serialize(),
            R"({"amoro.apache.org/ha-role":"leader","app":"ams"})");
}

// A caller with a watch cache knows the selector at a resourceVersion: the
// patch then needs no read, and a stale view is refused by the precondition.
TEST_F(RestKubeApiStandinTest, APatchFromAKnownSelectorSendsNoGetAndAStaleOneIsAConflict) {
  CreateService("ams-leader", {{"app", "ams"}, {"amoro.apache.org/ha-pod", "ams-0"}});
  auto api = Client();
  Cancellation never;
  StatusOr<ServiceList> list = api->ListServices(never);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->items.size(), 1u);
  const Service& cached = list->items[0];
  ASSERT_EQ(standin_->Admin("DELETE", "/admin/record/requests").code, 200);

  ServicePatch patch;
  patch.selector = Labels{{"app", "ams"}, {"amoro.apache.org/ha-role", "leader"}};
  patch.expected_resource_version = cached.resource_version;
  patch.current_selector = cached.selector;
  StatusOr<Service> after = api->PatchService("ams-leader", patch);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->selector, *patch.selector);  // the old key is gone
  std::string path = "/api/v1/namespaces/" + standin_->ns() + "/services/ams-leader";
  EXPECT_EQ(Requests("GET", path).size(), 0u);
  EXPECT_EQ(Requests("PATCH", path).size(), 1u);

  // The same cached view again: the Service moved on, so 409.
  patch.selector = Labels{{"app", "ams"}};
  StatusOr<Service> stale = api->PatchService("ams-leader", patch);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict) << stale.status().ToString();
  EXPECT_EQ(api->GetService("ams-leader")->selector, after->selector);
}

TEST_F(RestKubeApiStandinTest, AStaleExpectedResourceVersionIsAConflict) {
  CreateService("ams-leader", {{"app", "ams"}});
  auto api = Client();
  StatusOr<Service> before = api->GetService("ams-leader");
  ASSERT_TRUE(before.ok());
  ServicePatch move;
  move.annotations = {{"moved", "yes"}};
  ASSERT_TRUE(api->PatchService("ams-leader", move).ok());
  const std::string stale = before->resource_version;

  ServicePatch patch;
  patch.selector = Labels{{"app", "ams"}};
  patch.expected_resource_version = stale;
  StatusOr<Service> svc = api->PatchService("ams-leader", patch);
  ASSERT_FALSE(svc.ok());
  EXPECT_EQ(svc.status().code(), StatusCode::kConflict);

  // Without a selector change the precondition travels in the patch body and
  // the server answers 409 itself.
  ServicePatch annotate;
  annotate.annotations = {{"a", "b"}};
  annotate.expected_resource_version = stale;
  svc = api->PatchService("ams-leader", annotate);
  ASSERT_FALSE(svc.ok());
  EXPECT_EQ(svc.status().code(), StatusCode::kConflict);
  EXPECT_NE(svc.status().message().find("(HTTP 409 Conflict)"), std::string::npos)
      << svc.status().message();
}

TEST_F(RestKubeApiStandinTest, AConflictBetweenReadAndPatchIsRetried) {
  CreateService("ams-leader", {{"app", "ams"}});
  auto api = Client();
  testing::StandinFault fault;
  fault.method = "PATCH";
  fault.path_prefix = "/api/v1/namespaces/" + standin_->ns() + "/services/ams-leader";
  fault.code = 409;
  fault.reason = "Conflict";
  ASSERT_TRUE(standin_->InjectFault(fault).ok());
  ServicePatch patch;
  patch.selector = Labels{{"app", "ams"}, {"role", "leader"}};
  StatusOr<Service> svc = api->PatchService("ams-leader", patch);
  ASSERT_TRUE(svc.ok()) << svc.status().ToString();
  EXPECT_EQ(svc->selector, *patch.selector);
  EXPECT_EQ(
      Requests("PATCH", "/api/v1/namespaces/" + standin_->ns() + "/services/ams-leader").size(),
      2u);
}

TEST_F(RestKubeApiStandinTest, EventsAreCreatedValidAndRepeatsPatchTheirSeries) {
  CreatePod("ams-1", {{"app", "ams"}});
  auto api = Client();
  StatusOr<PodList> pods = api->ListPods("app=ams");
  ASSERT_TRUE(pods.ok());
  FakeClock clock;
  EventRecorder recorder(api.get(), &clock, "controller-0");
  Event event;
  event.involved_object = {
      "Pod", "ams-1", standin_->ns(), pods->items[0].uid, "v1", pods->items[0].resource_version};
  event.reason = "LeaderElected";
  event.action = "Elect";
  event.message = "ams-1 is the AMS leader";
  Status s = recorder.Record(event);
  ASSERT_TRUE(s.ok()) << s.ToString();
  clock.Advance(std::chrono::seconds(30));
  event.message = "ams-1 is the AMS leader again";
  s = recorder.Record(event);
  ASSERT_TRUE(s.ok()) << s.ToString();

  json::value state = Parse(standin_->State());
  ASSERT_EQ(state.at("events").as_array().size(), 1u) << "a repeat is not a new object";
  const json::value& e = state.at("events").as_array().at(0);
  EXPECT_EQ(e.at("reason").as_string(), "LeaderElected");
  EXPECT_EQ(e.at("action").as_string(), "Elect");
  EXPECT_EQ(e.at("type").as_string(), "Normal");
  EXPECT_EQ(e.at("involvedObject").at("name").as_string(), "ams-1");
  EXPECT_EQ(e.at("involvedObject").at("uid").as_string(), pods->items[0].uid);
  EXPECT_EQ(e.at("involvedObject").at("resourceVersion").as_string(),
            pods->items[0].resource_version);
  EXPECT_EQ(e.at("reportingComponent").as_string(), "ams-ha-controller");
  EXPECT_EQ(e.at("reportingInstance").as_string(), "controller-0");
  EXPECT_EQ(e.at("count").as_integer(), 2);
  EXPECT_EQ(e.at("series").at("count").as_integer(), 2);
  EXPECT_EQ(e.at("message").as_string(), "ams-1 is the AMS leader again");
  EXPECT_EQ(e.at("metadata").at("name").as_string().rfind("ams-1.", 0), 0u);
  EXPECT_FALSE(e.at("eventTime").as_string().empty());
  std::string events_path = "/api/v1/namespaces/" + standin_->ns() + "/events";
  std::vector<json::value> posts = Requests("POST", events_path);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].at("contentType").as_string(), "application/json");
  EXPECT_EQ(posts[0].at("query").as_string(), "fieldValidation=Strict");
  std::vector<json::value> patches = Requests("PATCH", events_path + "/");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].at("code").as_integer(), 200);
}

// What the controller sent before issue 11 (eventTime without action) is
// what kube-apiserver refuses; the error carries the server's message.
TEST_F(RestKubeApiStandinTest, AnEventWithoutActionIsInvalidArgumentWithTheServerMessage) {
  auto api = Client();
  Event event;
  event.name = "ams-1.1";
  event.involved_object = {"Pod", "ams-1", standin_->ns(), ""};
  event.reason = "LeaderElected";
  event.reporting_instance = "controller-0";
  Status s = api->CreateEvent(event);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("invalid: cannot create events in namespace \"" + standin_->ns() +
                             "\" (HTTP 422 Invalid): Event \"ams-1.1\" is invalid: action: "
                             "Required value"),
            std::string::npos)
      << s.message();
}

// The chart's Role is checked against controller/kube/api_permissions.json
// (scripts/check-chart.sh); this checks the file against what the client
// really sends: every KubeApi method once, and the RBAC verb and resource of
// each recorded request (as the stand-in's authorizer sees them) must be
// exactly the file's. A new call fails here until the file and so the Role
// grant it.
TEST_F(RestKubeApiStandinTest, TheClientCallsExactlyThePermissionsTheRoleGrants) {
  CreatePod("ams-0", {{"app", "ams"}});
  CreateService("ams-leader", {{"app", "ams"}});
  ASSERT_EQ(standin_->Admin("DELETE", "/admin/record/requests").code, 200);
  auto api = Client();
  ASSERT_TRUE(api->ListPods("app=ams").ok());
  Cancellation cancel;
  std::thread stop([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.Cancel();
  });
  api->WatchPods(
      "app=ams", "", [](const PodWatchEvent&) {}, cancel);
  stop.join();
  Cancellation services_cancel;
  ASSERT_TRUE(api->ListServices(services_cancel).ok());
  std::thread stop_services([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    services_cancel.Cancel();
  });
  api->WatchServices(
      "", [](const ServiceWatchEvent&) {}, services_cancel);
  stop_services.join();
  ASSERT_TRUE(api->PatchPodLabels("ams-0", {{"role", "leader"}}).ok());
  ASSERT_TRUE(api->GetService("ams-leader").ok());
  ServicePatch patch;
  patch.selector = Labels{{"role", "leader"}};
  ASSERT_TRUE(api->PatchService("ams-leader", patch).ok());
  FakeClock clock;
  EventRecorder recorder(api.get(), &clock, "controller-0");
  Event event;
  event.involved_object = {"Pod", "ams-0", standin_->ns(), ""};
  event.reason = "LeaderElected";
  event.action = "Elect";
  ASSERT_TRUE(recorder.Record(event).ok());  // create
  ASSERT_TRUE(recorder.Record(event).ok());  // patch of the series

  std::set<std::string> used;
  json::value requests = Parse(standin_->Requests());
  for (const json::value& r : requests.as_array()) {
    EXPECT_EQ(r.at("userAgent").as_string(), "ams-ha-controller");
    used.insert(r.at("resource").as_string() + " " + r.at("verb").as_string());
  }
  std::ifstream in(std::string(AMS_HA_SOURCE_DIR) + "/controller/kube/api_permissions.json");
  std::stringstream text;
  text << in.rdbuf();
  std::set<std::string> granted;
  json::value permissions = Parse(text.str());
  for (const json::value& rule : permissions.at("rules").as_array()) {
    for (const json::value& verb : rule.at("verbs").as_array()) {
      granted.insert(rule.at("resource").as_string() + " " + verb.as_string());
    }
  }
  EXPECT_EQ(used, granted);
}

// --- Server errors ---

TEST_F(RestKubeApiStandinTest, ServerErrorsAndThrottlingAreUnavailableWithTheirMessages) {
  auto api = Client();
  testing::StandinFault fault;
  fault.method = "GET";
  fault.path_prefix = PodsPath();
  fault.code = 500;
  ASSERT_TRUE(standin_->InjectFault(fault).ok());
  StatusOr<PodList> list = api->ListPods("");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(list.status().message().find("server error: cannot list pods in namespace \"" +
                                         standin_->ns() + "\" (HTTP 500 InternalError)"),
            std::string::npos)
      << list.status().message();

  fault.code = 429;
  fault.retry_after_seconds = 1;
  ASSERT_TRUE(standin_->InjectFault(fault).ok());
  list = api->ListPods("");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(list.status().message().find("(HTTP 429 TooManyRequests, retry after 1s)"),
            std::string::npos)
      << list.status().message();

  EXPECT_TRUE(api->ListPods("").ok());  // the faults were one-shot
}

TEST_F(RestKubeApiStandinTest, TheObserverSeesEveryRequestWithVerbAndCode) {
  std::mutex mu;
  std::vector<std::string> seen;
  RestKubeApiOptions options;
  options.observer = [&](const std::string& verb, int code, double seconds) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(verb + ":" + std::to_string(code));
    EXPECT_GE(seconds, 0.0);
  };
  options.watch_timeout = seconds(1);
  auto api = Client(options);
  CreateService("ams-leader", {{"app", "ams"}});
  StatusOr<PodList> list = api->ListPods("");
  ASSERT_TRUE(list.ok());
  api->GetService("missing");
  api->PatchPodLabels("missing", {{"a", "b"}});
  Cancellation never;
  api->WatchPods(
      "", list->resource_version, [](const PodWatchEvent&) {}, never);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"list:200", "get:404", "patch:404", "watch:200"}));
}

}  // namespace
}  // namespace amsha
