#include "election/cluster_loop.h"

#include <gtest/gtest.h>

#include "election/pod_identity.h"
#include "routing/desired_state.h"
#include "support/cluster_loop_harness.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ClusterLoopHarness;
using testing::FakeLeaseStore;
using testing::RecordingMetricsSink;

class FakeProber : public Prober {
 public:
  bool Probe(const std::string& ip, int, milliseconds) override {
    probed.push_back(ip);
    return healthy;
  }
  bool healthy = true;
  std::vector<std::string> probed;
};

ClusterConfig ProdCluster() {
  ClusterConfig cluster;
  cluster.name = "prod";
  cluster.pod_selector = "app=amoro";
  return cluster;
}

class ClusterLoopTest : public ::testing::Test {
 protected:
  ClusterLoopTest() : h_(ProdCluster(), &prober_) {
    for (const char* name : {"ams-0", "ams-1", "ams-2"}) {
      api_.PutPod(api_.MakePod(name, {{"app", "amoro"}}));
    }
  }

  void SyncPods() { h_.SyncPods(); }
  void Pass() { h_.Pass(); }
  std::vector<std::string> Selected() const { return h_.Selected(); }
  std::vector<std::string> EventReasons() const {
    std::vector<std::string> out;
    for (const Event& e : api_.Events()) {
      out.push_back(e.reason + " " + e.involved_object.kind + "/" + e.involved_object.name);
    }
    return out;
  }

  FakeProber prober_;
  ClusterLoopHarness h_;
  FakeClock& clock_ = h_.clock;
  FakeLeaseStore& store_ = h_.store;
  FakeKubeApi& api_ = h_.api;
  Config& config_ = h_.config;
  RecordingMetricsSink& metrics_ = h_.metrics;
  std::unique_ptr<ControllerElector>& controller_ = h_.controller;
  std::unique_ptr<PodWatcher>& watcher_ = h_.watcher;
  std::unique_ptr<ClusterLoop>& loop_ = h_.loop;
};

TEST_F(ClusterLoopTest, WritesNothingUntilThePodCacheHasSynced) {
  controller_->Step();
  loop_->RunOnce();
  EXPECT_EQ(store_.CountCalls("Acquire"), 1) << "only the controller's own row";
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchService), 0);
}

TEST_F(ClusterLoopTest, AStandbyReplicaWritesNothing) {
  ControllerConfig other = config_.controller;
  other.identity = "ctl-1";
  ControllerElector active(other, &store_, &clock_);
  active.Step();
  controller_->Step();
  ASSERT_FALSE(controller_->IsActive());
  store_.ClearCalls();
  Pass();
  EXPECT_EQ(store_.Calls().size(), 0u);
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchPodLabels), 0);
}

TEST_F(ClusterLoopTest, ElectsRoutesAndAnnouncesTheFirstLeader) {
  controller_->Step();
  Pass();
  ASSERT_EQ(Selected().size(), 1u);
  EXPECT_EQ(loop_->RoutedLeader(), Selected()[0]);
  EXPECT_EQ(metrics_.routed["prod"], 1);
  EXPECT_EQ(metrics_.transitions["prod"], 1);
  EXPECT_TRUE(metrics_.failovers.empty()) << "a first election is not a failover";
  auto reasons = EventReasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "LeaderElected Pod/" + Selected()[0]),
            reasons.end());
}

// kubectl describe finds Events by the involved object's uid, so every
// Event names its object with uid and resourceVersion, the Service's too,
// with the action and reporting fields the API server requires.
TEST_F(ClusterLoopTest, EventsNameTheirObjectByUidAndSayWhatWasDone) {
  controller_->Step();
  Pass();
  std::string leader = Selected()[0];
  std::string service_uid = api_.FindService("ams-leader")->uid;
  std::string pod_uid = api_.FindPod(leader)->uid;
  int service_events = 0, pod_events = 0;
  for (const Event& e : api_.Events()) {
    EXPECT_FALSE(e.action.empty()) << e.reason;
    EXPECT_EQ(e.reporting_component, "ams-ha-controller");
    EXPECT_FALSE(e.reporting_instance.empty());
    EXPECT_FALSE(e.involved_object.resource_version.empty()) << e.reason;
    if (e.involved_object.kind == "Service") {
      ++service_events;
      EXPECT_EQ(e.involved_object.uid, service_uid);
    } else {
      ++pod_events;
      EXPECT_EQ(e.involved_object.uid, pod_uid);
    }
  }
  EXPECT_EQ(service_events, 1);
  EXPECT_EQ(pod_events, 1);
}

// A burst of transitions is one Event per object and reason, its count
// raised, not one object per transition.
TEST_F(ClusterLoopTest, RepeatedTransitionsAggregateIntoOneEvent) {
  controller_->Step();
  Pass();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(api_.RemovePod(Selected()[0]).ok());
    Pass();
    ASSERT_EQ(Selected().size(), 1u);
  }
  int leader_elected_on_service = 0;
  for (const Event& e : api_.Events()) {
    if (e.reason == "LeaderElected" && e.involved_object.kind == "Service") {
      ++leader_elected_on_service;
      EXPECT_EQ(e.count, 3);
    }
  }
  EXPECT_EQ(leader_elected_on_service, 1);
  EXPECT_GE(api_.CallCount(FakeKubeApi::Method::kPatchEventSeries), 3);
}

TEST_F(ClusterLoopTest, ADeletedLeaderFailsOverAndIsCountedOnce) {
  controller_->Step();
  Pass();
  std::string old_leader = Selected()[0];
  ASSERT_TRUE(api_.MarkPodTerminating(old_leader).ok());
  Pass();
  ASSERT_EQ(Selected().size(), 1u);
  EXPECT_NE(Selected()[0], old_leader);
  EXPECT_EQ(metrics_.failovers, std::vector<std::string>{"prod/pod_deleted"});
  EXPECT_EQ(metrics_.failover_seconds.size(), 1u);
  auto reasons = EventReasons();
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "FailingOver Service/ams-leader"),
            reasons.end());
  Pass();
  EXPECT_EQ(metrics_.failovers.size(), 1u) << "no second failover";
}

TEST_F(ClusterLoopTest, TheLeaderIsProbedAndFailsOverAfterTheThreshold) {
  controller_->Step();
  Pass();
  std::string old_leader = Selected()[0];
  loop_->ProbeOnce();  // its AMS served
  prober_.healthy = false;
  for (int i = 0; i < config_.clusters[0].probe.failure_threshold; ++i) loop_->ProbeOnce();
  EXPECT_EQ(prober_.probed.size(), 4u);
  Pass();
  EXPECT_NE(Selected()[0], old_leader);
  EXPECT_EQ(metrics_.failovers, std::vector<std::string>{"prod/probe_failed"});
}

TEST_F(ClusterLoopTest, ASwitchoverRequestIsCarriedOutAndAnswered) {
  controller_->Step();
  Pass();
  std::string target = Selected()[0] == "ams-2" ? "ams-0" : "ams-2";
  LeaseKey key{"prod", kSwitchoverServiceName};
  auto request = store_.Acquire(key, SwitchoverRequestHolder(target), seconds(30));
  ASSERT_TRUE(request.ok());
  Pass();
  EXPECT_EQ(Selected(), std::vector<std::string>{target});
  auto answer = SwitchoverAnswerIn(store_.Row(key), request->version);
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->done);
  EXPECT_TRUE(store_.Row(key)->Expired()) << "a new request may follow at once";
}

TEST_F(ClusterLoopTest, ASwitchoverToAnUnknownPodIsRejectedWithTheReason) {
  controller_->Step();
  Pass();
  std::string leader = Selected()[0];
  LeaseKey key{"prod", kSwitchoverServiceName};
  auto request = store_.Acquire(key, SwitchoverRequestHolder("ams-9"), seconds(30));
  Pass();
  EXPECT_EQ(Selected(), std::vector<std::string>{leader});
  auto answer = SwitchoverAnswerIn(store_.Row(key), request->version);
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->done);
  EXPECT_NE(answer->message.find("ams-9 is not a candidate"), std::string::npos) << answer->message;
}

TEST_F(ClusterLoopTest, ADatabaseOutageKeepsTheServiceAsItIs) {
  controller_->Step();
  Pass();
  std::string leader = Selected()[0];
  store_.SetUnavailable(true);
  api_.ClearCalls();
  ASSERT_TRUE(api_.MarkPodTerminating(leader).ok());
  Pass();
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchService), 0)
      << "never route to a pod the database has not confirmed";
  EXPECT_FALSE(metrics_.db_up);
  EXPECT_GE(metrics_.db_errors, 1);
}

// Lines of `log` that contain `text`.
int CountLines(const std::string& log, const std::string& text) {
  int n = 0;
  for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
  return n;
}

TEST_F(ClusterLoopTest, EachLeadershipDecisionIsLoggedOnceWithItsFields) {
  controller_->Step();
  ::testing::internal::CaptureStderr();
  Pass();
  Pass();
  std::string old_leader = Selected()[0];
  ASSERT_TRUE(api_.MarkPodTerminating(old_leader).ok());
  Pass();
  Pass();
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(CountLines(log, "leader elected cluster=prod from=- to=" + old_leader +
                                " reason=initial version="),
            1)
      << log;
  EXPECT_EQ(CountLines(log, "leader elected cluster=prod from=" + old_leader +
                                " to=" + Selected()[0] + " reason=pod_deleted version="),
            1)
      << log;
  EXPECT_EQ(CountLines(log, "leader elected"), 2) << log;
  EXPECT_EQ(CountLines(log, " took_ms="), 2) << log;
}

TEST_F(ClusterLoopTest, AReplicaThatAdoptsTheLeaderLogsTheRoutingOnce) {
  controller_->Step();
  Pass();
  std::string leader = Selected()[0];
  // A second loop, as on a replica that just became active: it routes the
  // holder it finds in the row, without a transition.
  ClusterLoop::Deps deps;
  deps.store = &store_;
  deps.api = &api_;
  deps.pods = h_.pod_source.get();
  deps.controller = controller_.get();
  deps.clock = &clock_;
  deps.metrics = &metrics_;
  deps.prober = &prober_;
  ClusterLoop adopter(config_, config_.clusters[0], deps);
  ::testing::internal::CaptureStderr();
  SyncPods();
  adopter.RunOnce();
  adopter.RunOnce();
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(CountLines(log, "routing the lease holder cluster=prod from=- to=" + leader), 1) << log;
  EXPECT_EQ(CountLines(log, "leader elected"), 0) << "no transition: " << log;
  EXPECT_EQ(metrics_.transitions["prod"], 1);
}

TEST_F(ClusterLoopTest, ConflictsThatKeepComingBackOffInsteadOfSpinning) {
  controller_->Step();
  Pass();
  ASSERT_EQ(Selected().size(), 1u);
  // Every store call reports that the row moved under us.
  store_.FailNext(1000, ConflictError("version moved"));
  SyncPods();
  EXPECT_EQ(loop_->RunOnce(), milliseconds(0)) << "the first conflict re-reads at once";
  EXPECT_GT(loop_->RunOnce(), milliseconds(0)) << "the next ones back off";
  EXPECT_GT(loop_->RunOnce(), milliseconds(0));
  store_.FailNext(0, Status());
  EXPECT_EQ(loop_->RunOnce(),
            milliseconds(std::min<int64_t>({config_.controller.retry_period.count(),
                                            config_.clusters[0].heartbeat_interval.count(), 1000})))
      << "a success resets the streak";
}

TEST_F(ClusterLoopTest, NoWriteLeavesOnceTheControllerLeaseCouldHaveExpiredMidPass) {
  controller_->Step();
  SyncPods();
  // The first request of the pass stalls past renewDeadline: by the time it
  // returns, another replica may hold the controller lease.
  bool stalled = false;
  api_.SetCallHook([&](FakeKubeApi::Method method) {
    if (method == FakeKubeApi::Method::kPatchPodLabels && !stalled) {
      stalled = true;
      clock_.Advance(config_.controller.renew_deadline);
    }
  });
  loop_->RunOnce();
  api_.SetCallHook(nullptr);
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchPodLabels), 1)
      << "only the request sent before the deadline";
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchService), 0);
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kCreateEvent), 0);
  EXPECT_TRUE(Selected().empty());
}

TEST_F(ClusterLoopTest, AConflictOnTheServiceRereadsTheLeaseAndDecidesAgain) {
  controller_->Step();
  SyncPods();
  // While the pass patches the Service for the pod it elected, the lease
  // moves to another pod (another writer) and the Service changes: 409.
  std::string moved_to;
  api_.SetCallHook([&](FakeKubeApi::Method method) {
    if (method != FakeKubeApi::Method::kPatchService || !moved_to.empty()) return;
    auto row = store_.Row({"prod", kAmsServiceName});
    ASSERT_TRUE(row && row->node_id);
    for (const Pod& p : api_.Pods()) {
      if (UidFromNodeId(*row->node_id) != p.uid) moved_to = p.name;
    }
    store_.Put({"prod", kAmsServiceName}, HolderFor(*api_.FindPod(moved_to), config_.clusters[0]),
               config_.clusters[0].lease_ttl);
    api_.FailNext(FakeKubeApi::Method::kPatchService, 1, ConflictError("409"));
  });
  EXPECT_EQ(loop_->RunOnce(), milliseconds(0)) << "decides again at once";
  EXPECT_EQ(api_.CallCount(FakeKubeApi::Method::kPatchService), 1)
      << "the stale decision is not re-applied";
  EXPECT_TRUE(Selected().empty());
  api_.SetCallHook(nullptr);
  Pass();
  EXPECT_EQ(Selected(), std::vector<std::string>{moved_to}) << "routes where the lease now is";
}

}  // namespace
}  // namespace amsha
