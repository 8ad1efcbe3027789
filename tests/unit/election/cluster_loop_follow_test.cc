// ClusterLoop for a cluster in `mode: follow`: routes, labels, Events and
// metrics follow Amoro's own lease; nothing is written to ha_lease for it.
#include <gtest/gtest.h>

#include "election/cluster_loop.h"
#include "routing/desired_state.h"
#include "support/cluster_loop_harness.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ClusterLoopHarness;
using testing::FakeLeaseStore;
using testing::RecordingMetricsSink;

class NeverProber : public Prober {
 public:
  bool Probe(const std::string&, int, milliseconds) override {
    ++probes;
    return false;
  }
  int probes = 0;
};

ClusterConfig FollowCluster() {
  ClusterConfig cluster;
  cluster.name = "prod";
  cluster.pod_selector = "app=amoro";
  cluster.mode = ClusterMode::kFollow;
  return cluster;
}

class ClusterLoopFollowTest : public ::testing::Test {
 protected:
  ClusterLoopFollowTest() : h_(FollowCluster(), &prober_) {
    for (int i = 0; i < 3; ++i) {
      std::string name = "ams-" + std::to_string(i);
      api_.PutPod(api_.MakePod(name, {{"app", "amoro"}}, true, "10.2.0." + std::to_string(i)));
    }
    controller_->Step();
  }

  void Pass() { h_.Pass(); }
  void AmoroHolds(int pod, milliseconds ttl = seconds(30)) {
    std::string ip = "10.2.0." + std::to_string(pod);
    store_.Put({"prod", kAmsServiceName}, {ip + ":1261:amoro-" + ip, ip, "{}"}, ttl);
  }
  std::vector<std::string> Selected() const { return h_.Selected(); }
  // Every store call that touched cluster "prod" other than a read.
  std::vector<std::string> WritesToTheCluster() const {
    std::vector<std::string> out;
    for (const std::string& call : store_.Calls()) {
      if (call.rfind("Read ", 0) != 0 && call.find("/prod") != std::string::npos) {
        out.push_back(call);
      }
    }
    return out;
  }

  NeverProber prober_;
  ClusterLoopHarness h_;
  FakeClock& clock_ = h_.clock;
  FakeLeaseStore& store_ = h_.store;
  FakeKubeApi& api_ = h_.api;
  Config& config_ = h_.config;
  RecordingMetricsSink& metrics_ = h_.metrics;
  std::unique_ptr<ControllerElector>& controller_ = h_.controller;
  std::unique_ptr<ClusterLoop>& loop_ = h_.loop;
};

TEST_F(ClusterLoopFollowTest, RoutesToTheHolderAndFollowsItsTakeover) {
  AmoroHolds(1);
  Pass();
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-1"});
  EXPECT_EQ(metrics_.leader["prod"], "ams-1");
  AmoroHolds(2);
  Pass();
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-2"});
  EXPECT_EQ(metrics_.failovers, std::vector<std::string>{"prod/lease_expired"});
}

TEST_F(ClusterLoopFollowTest, AnUnmatchedHolderIsReportedOnceAndNothingIsRouted) {
  store_.Put({"prod", kAmsServiceName}, {"10.9.9.9:1261:x", "10.9.9.9", "{}"}, seconds(30));
  Pass();
  Pass();
  EXPECT_TRUE(Selected().empty());
  EXPECT_TRUE(metrics_.foreign["prod"]);
  int foreign_events = 0;
  for (const Event& e : api_.Events()) {
    if (e.reason == "ForeignLeaseHolder") {
      ++foreign_events;
      EXPECT_NE(e.message.find("whose node_ip is the IP of no pod of the cluster"),
                std::string::npos)
          << e.message;
    }
  }
  EXPECT_EQ(foreign_events, 1);
}

TEST_F(ClusterLoopFollowTest, NobodyCampaigningIsAnEventOncePerStreakAndAMetric) {
  AmoroHolds(1, seconds(5));
  Pass();
  ASSERT_EQ(Selected(), std::vector<std::string>{"ams-1"});
  // Every AMS has lost the lease once (Amoro never campaigns again); all
  // three pods stay Ready. Step a pass a second, as the loop would.
  auto no_campaign_events = [&] {
    int n = 0;
    for (const Event& e : api_.Events()) {
      if (e.reason != "NoAmsCampaigning") continue;
      ++n;
      EXPECT_EQ(e.type, "Warning");
      EXPECT_EQ(e.involved_object.kind, "Service");
      EXPECT_NE(e.message.find("no AMS is campaigning"), std::string::npos) << e.message;
      EXPECT_NE(e.message.find("restart"), std::string::npos) << e.message;
    }
    return n;
  };
  for (int s = 0; s < 5 + 2 + 30; ++s) {
    clock_.Advance(seconds(1));
    controller_->Step();
    Pass();
  }
  EXPECT_TRUE(Selected().empty());
  EXPECT_FALSE(metrics_.no_campaign["prod"]) << "expired for 30s: not longer than a ttl yet";
  EXPECT_EQ(no_campaign_events(), 0);
  for (int s = 0; s < 5; ++s) {
    clock_.Advance(seconds(1));
    controller_->Step();
    Pass();
  }
  EXPECT_TRUE(metrics_.no_campaign["prod"]);
  EXPECT_EQ(no_campaign_events(), 1) << "once per streak";
  // A restarted AMS campaigns and wins: the metric clears.
  AmoroHolds(2);
  Pass();
  EXPECT_FALSE(metrics_.no_campaign["prod"]);
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-2"});
  EXPECT_TRUE(WritesToTheCluster().empty());
}

TEST_F(ClusterLoopFollowTest, WritesNothingToHaLeaseNotEvenASwitchoverAnswer) {
  AmoroHolds(0);
  Pass();
  store_.Acquire({"prod", kSwitchoverServiceName}, SwitchoverRequestHolder("ams-2"), seconds(30));
  store_.ClearCalls();
  for (int i = 0; i < 5; ++i) {
    loop_->ProbeOnce();
    clock_.Advance(seconds(3));
    Pass();
  }
  EXPECT_TRUE(WritesToTheCluster().empty()) << ::testing::PrintToString(WritesToTheCluster());
  EXPECT_EQ(prober_.probes, 0) << "AMS fails itself over: nothing to probe";
  EXPECT_EQ(Selected(), std::vector<std::string>{"ams-0"});
}

}  // namespace
}  // namespace amsha
