// ClusterElector in `mode: follow` (AMS elects itself; the controller only
// reads and routes), and probe.startupGracePeriod in `mode: manage`.
#include <gtest/gtest.h>

#include "election/cluster_elector.h"
#include "election/pod_identity.h"
#include "support/fake_lease_store.h"
#include "support/pod_builder.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;
using testing::PodBuilder;
using Routing = ElectionOutcome::Routing;

const LeaseKey kAms{"prod", kAmsServiceName};

class FollowModeTest : public ::testing::Test {
 public:
  FollowModeTest() : store_(&clock_), health_(&clock_) {
    cluster_.name = "prod";
    cluster_.pod_selector = "app=amoro";
    cluster_.mode = ClusterMode::kFollow;
    elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
    pods_ = {PodBuilder("ams-0").Ip("10.1.0.10"), PodBuilder("ams-1").Ip("10.1.0.11"),
             PodBuilder("ams-2").Ip("10.1.0.12")};
  }

  // Amoro's AMS on `ip` takes the lease (its node_id is host:port:uuid).
  void AmoroHolds(const std::string& ip, milliseconds ttl = seconds(30)) {
    store_.Put(kAms, {ip + ":1261:amoro-uuid-" + ip, ip, "{}"}, ttl);
  }
  ElectionOutcome Step() {
    health_.ObservePods(pods_);
    return elector_->Step(pods_);
  }
  int Writes() const {
    return store_.CountCalls("Acquire") + store_.CountCalls("Renew") +
           store_.CountCalls("HandOver") + store_.CountCalls("Release") +
           store_.CountCalls("PublishServiceInfo");
  }

  FakeClock clock_;
  FakeLeaseStore store_;
  HealthTracker health_;
  ClusterConfig cluster_;
  std::unique_ptr<ClusterElector> elector_;
  std::vector<Pod> pods_;
};

TEST_F(FollowModeTest, RoutesToThePodWhoseIpIsTheHoldersNodeIp) {
  AmoroHolds("10.1.0.11");
  ElectionOutcome o = Step();
  ASSERT_TRUE(o.status.ok());
  EXPECT_EQ(o.routing, Routing::kRouteTo);
  EXPECT_EQ(o.leader->name, "ams-1");
  EXPECT_EQ(o.record->node_id, "10.1.0.11:1261:amoro-uuid-10.1.0.11");
  EXPECT_FALSE(o.transitioned) << "the first step after Reset adopts silently";
  EXPECT_EQ(Writes(), 0);
}

TEST_F(FollowModeTest, NeverWritesTheLeaseWhateverHappens) {
  // Empty, expired, held, lost pods, NotReady, failing probes, switchover.
  Step();
  AmoroHolds("10.1.0.10", seconds(2));
  Step();
  clock_.Advance(seconds(3));
  Step();
  AmoroHolds("10.1.0.12");
  pods_[2].ready = false;
  for (int i = 0; i < 5; ++i) health_.RecordProbe(pods_[2].uid, false);
  Step();
  elector_->Step(pods_, std::string("ams-0"));
  pods_.pop_back();
  Step();
  EXPECT_EQ(Writes(), 0) << ::testing::PrintToString(store_.Calls());
}

TEST_F(FollowModeTest, FollowsAnAmoroTakeoverAsAFailover) {
  AmoroHolds("10.1.0.10");
  Step();
  AmoroHolds("10.1.0.12");
  ElectionOutcome o = Step();
  EXPECT_EQ(o.leader->name, "ams-2");
  EXPECT_TRUE(o.transitioned);
  EXPECT_EQ(o.reason, FailoverReason::kLeaseExpired);
  EXPECT_EQ(o.previous_pod, "ams-0");
  EXPECT_EQ(o.previous_node_id, "10.1.0.10:1261:amoro-uuid-10.1.0.10");
  EXPECT_FALSE(Step().transitioned) << "once";
}

TEST_F(FollowModeTest, RoutesNoPodWhileTheLeaseIsEmptyOrExpired) {
  ElectionOutcome empty = Step();
  EXPECT_EQ(empty.routing, Routing::kRouteNone);
  EXPECT_EQ(empty.summary, "no AMS holds the lease (follow mode: AMS elects itself)");
  AmoroHolds("10.1.0.11", seconds(5));
  EXPECT_EQ(Step().routing, Routing::kRouteTo);
  clock_.Advance(seconds(5) + cluster_.clock_skew_margin);
  ElectionOutcome expired = Step();
  EXPECT_EQ(expired.routing, Routing::kRouteNone);
  EXPECT_TRUE(expired.transitioned);
  EXPECT_EQ(expired.previous_pod, "ams-1");
  EXPECT_FALSE(expired.leader.has_value());
}

struct UnmatchedCase {
  const char* name;
  std::function<void(std::vector<Pod>&)> change;
  const char* summary;
};

class FollowModeUnmatchedTest : public FollowModeTest,
                                public ::testing::WithParamInterface<UnmatchedCase> {};

TEST_P(FollowModeUnmatchedTest, IsReportedAsAForeignHolderAndNotRouted) {
  AmoroHolds("10.1.0.11");
  GetParam().change(pods_);
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteNone);
  EXPECT_EQ(o.foreign_holder, "10.1.0.11:1261:amoro-uuid-10.1.0.11");
  EXPECT_NE(o.summary.find(GetParam().summary), std::string::npos) << o.summary;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FollowModeUnmatchedTest,
    ::testing::Values(
        UnmatchedCase{"NoPodHasTheIp", [](std::vector<Pod>& pods) { pods.erase(pods.begin() + 1); },
                      "(node_ip \"10.1.0.11\"), which is the IP of no pod of this cluster"},
        UnmatchedCase{"TwoPodsHaveTheIp",
                      [](std::vector<Pod>& pods) { pods[2].pod_ip = "10.1.0.11"; },
                      "which is the IP of 2 pods of this cluster; routing none"}),
    [](const auto& info) { return info.param.name; });

TEST_F(FollowModeTest, AHolderWithoutANodeIpMatchesNoPod) {
  store_.Put(kAms, {"10.1.0.11:1261:x", "", "{}"}, seconds(30));
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteNone);
  EXPECT_TRUE(o.foreign_holder.has_value());
}

// --- Amoro's placeholder row, clock skew, nobody campaigning ---

// Amoro's insertIfAbsent: the inserting node, its JVM clock's now + ttl,
// version 0, server_info_json "" (DataBaseHighAvailabilityContainer).
LeaseRecord AmoroPlaceholder(const FakeLeaseStore& store, const std::string& ip,
                             milliseconds expires_in) {
  LeaseRecord r;
  r.key = kAms;
  r.node_id = ip + ":1261:amoro-uuid-" + ip;
  r.node_ip = ip;
  r.server_info_json = "";
  r.lease_expire_ts_ms = store.DbNowMs() + expires_in.count();
  r.version = 0;
  r.updated_at_ms = store.DbNowMs();
  return r;
}

TEST_F(FollowModeTest, AmorosPlaceholderRowIsNoLeaderYetAndIsNeverRouted) {
  store_.PutRow(AmoroPlaceholder(store_, "10.1.0.10", seconds(30)));
  for (int i = 0; i < 4; ++i) {
    ElectionOutcome o = Step();
    EXPECT_EQ(o.routing, Routing::kRouteNone) << "ams-0 inserted the row but does not lead";
    EXPECT_FALSE(o.leader.has_value());
    EXPECT_FALSE(o.foreign_holder.has_value()) << "a placeholder is not a foreign holder";
    EXPECT_FALSE(o.no_campaign.has_value()) << "its inserter is campaigning";
    EXPECT_NE(o.summary.find("no leader yet"), std::string::npos) << o.summary;
    clock_.Advance(seconds(5));
  }
  // Amoro's acquireLease: version + 1, the holder's server info.
  store_.Put(kAms, {"10.1.0.12:1261:amoro-uuid-10.1.0.12", "10.1.0.12", "{\"host\":\"10.1.0.12\"}"},
             seconds(30));
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteTo);
  EXPECT_EQ(o.leader->name, "ams-2");
  EXPECT_EQ(o.record->version, 1);
  EXPECT_EQ(Writes(), 0);
}

TEST_F(FollowModeTest, AVersionZeroRowWithServerInfoIsNotAPlaceholder) {
  LeaseRecord r = AmoroPlaceholder(store_, "10.1.0.11", seconds(30));
  r.server_info_json = "{\"host\":\"10.1.0.11\"}";
  store_.PutRow(r);
  EXPECT_FALSE(IsAmoroPlaceholder(r));
  EXPECT_EQ(Step().leader->name, "ams-1");
}

TEST_F(FollowModeTest, AnAmoroRowStaysRoutedForTheClockSkewMarginAfterItsExpiry) {
  cluster_.clock_skew_margin = seconds(2);
  elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
  // The holder's JVM clock runs behind the database's: its expiry looks
  // early here, while it still renews in time by its own clock.
  AmoroHolds("10.1.0.11", seconds(5));
  EXPECT_EQ(Step().leader->name, "ams-1");
  clock_.Advance(milliseconds(6500));
  ElectionOutcome within = Step();
  EXPECT_EQ(within.routing, Routing::kRouteTo) << "1.5s past expiry, within the 2s margin";
  EXPECT_EQ(within.leader->name, "ams-1");
  EXPECT_FALSE(within.transitioned);
  clock_.Advance(milliseconds(500));
  ElectionOutcome past = Step();
  EXPECT_EQ(past.routing, Routing::kRouteNone) << "2s past expiry: expired";
  EXPECT_TRUE(past.transitioned);
}

TEST_F(FollowModeTest, AZeroMarginJudgesExpiryExactlyByTheDatabaseClock) {
  cluster_.clock_skew_margin = milliseconds(0);
  elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
  AmoroHolds("10.1.0.11", seconds(5));
  Step();
  clock_.Advance(seconds(5));
  EXPECT_EQ(Step().routing, Routing::kRouteNone);
}

TEST_F(FollowModeTest, ALeaseExpiredForLongerThanATtlWithReadyPodsSaysNoAmsIsCampaigning) {
  AmoroHolds("10.1.0.11", seconds(5));
  Step();
  // The holder lost the lease (Amoro: leadershipRevoked) and the others
  // had lost it before: nobody acquires again, every pod stays Ready.
  clock_.Advance(seconds(5) + cluster_.clock_skew_margin);
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteNone);
  EXPECT_FALSE(o.no_campaign.has_value()) << "just expired";
  clock_.Advance(cluster_.lease_ttl);
  EXPECT_FALSE(Step().no_campaign.has_value()) << "exactly a ttl: not longer yet";
  clock_.Advance(milliseconds(1));
  o = Step();
  ASSERT_TRUE(o.no_campaign.has_value());
  EXPECT_NE(o.no_campaign->find("no AMS is campaigning"), std::string::npos) << *o.no_campaign;
  EXPECT_NE(o.no_campaign->find("3 AMS pod(s) are Ready"), std::string::npos) << *o.no_campaign;
  EXPECT_NE(o.no_campaign->find("restart"), std::string::npos) << "says what to do";
  EXPECT_EQ(Writes(), 0);
  // An AMS campaigns again (a restarted pod): the condition clears at once.
  AmoroHolds("10.1.0.12");
  o = Step();
  EXPECT_FALSE(o.no_campaign.has_value());
  EXPECT_EQ(o.leader->name, "ams-2");
}

TEST_F(FollowModeTest, AnEmptyTableWithReadyPodsForLongerThanATtlSaysNoAmsIsCampaigning) {
  // e.g. AMS runs with ha.enabled: false although the cluster is in follow mode.
  Step();
  clock_.Advance(cluster_.lease_ttl + milliseconds(1));
  EXPECT_TRUE(Step().no_campaign.has_value());
}

TEST_F(FollowModeTest, NoReadyPodsIsNotACampaignProblem) {
  for (Pod& p : pods_) p.ready = false;
  Step();
  clock_.Advance(cluster_.lease_ttl * 3);
  EXPECT_FALSE(Step().no_campaign.has_value());
  // The clock starts when a pod becomes Ready, not before.
  pods_[0].ready = true;
  Step();
  clock_.Advance(cluster_.lease_ttl);
  EXPECT_FALSE(Step().no_campaign.has_value());
  clock_.Advance(milliseconds(1));
  EXPECT_TRUE(Step().no_campaign.has_value());
}

TEST_F(FollowModeTest, APlaceholderRestartsTheCampaignClock) {
  Step();
  clock_.Advance(cluster_.lease_ttl - seconds(1));
  store_.PutRow(AmoroPlaceholder(store_, "10.1.0.10", seconds(1)));
  Step();  // someone inserted the row: it campaigns
  clock_.Advance(seconds(1) + cluster_.clock_skew_margin);
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kRouteNone) << "the placeholder expired";
  EXPECT_FALSE(o.no_campaign.has_value()) << "expired just now, not a ttl ago";
}

TEST_F(FollowModeTest, KeepsTheRoutingWhenTheDatabaseCannotBeRead) {
  AmoroHolds("10.1.0.11");
  Step();
  store_.SetUnavailable(true);
  ElectionOutcome o = Step();
  EXPECT_EQ(o.routing, Routing::kKeep);
  EXPECT_TRUE(o.status.IsUnavailable());
}

// --- probe.startupGracePeriod (mode: manage) ---

class StartupGraceTest : public ::testing::Test {
 public:
  StartupGraceTest() : store_(&clock_), health_(&clock_) {
    cluster_.name = "prod";
    cluster_.pod_selector = "app=amoro";
    cluster_.probe.failure_threshold = 2;
    cluster_.probe.startup_grace_period = seconds(60);
    elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
    pods_ = {PodBuilder("ams-0").ReadySince("2026-01-01T00:00:01Z"),
             PodBuilder("ams-1").ReadySince("2026-01-01T00:00:02Z")};
  }
  ElectionOutcome Step() {
    health_.ObservePods(pods_);
    return elector_->Step(pods_);
  }
  // Lets `d` pass with a step every heartbeat, as the cluster loop would.
  void Run(milliseconds d) {
    for (milliseconds done(0); done < d; done += cluster_.heartbeat_interval) {
      clock_.Advance(std::min(cluster_.heartbeat_interval, d - done));
      Step();
    }
  }
  void FailProbes(const std::string& pod, int n) {
    for (int i = 0; i < n; ++i) health_.RecordProbe("uid-" + pod, false);
  }

  FakeClock clock_;
  FakeLeaseStore store_;
  HealthTracker health_;
  ClusterConfig cluster_;
  std::unique_ptr<ClusterElector> elector_;
  std::vector<Pod> pods_;
};

TEST_F(StartupGraceTest, ProbeFailuresOfAFreshLeaderDoNotCountDuringTheGrace) {
  ASSERT_EQ(Step().leader->name, "ams-0");
  Run(seconds(59));
  EXPECT_FALSE(health_.RecordProbe("uid-ams-0", false)) << "not counted";
  FailProbes("ams-0", 10);
  clock_.Advance(cluster_.heartbeat_interval / 10);
  ElectionOutcome o = Step();
  EXPECT_FALSE(o.transitioned);
  EXPECT_EQ(o.renew, RenewResult::kOk) << "still renewed: the JVM is starting";
  EXPECT_EQ(health_.ConsecutiveProbeFailures("uid-ams-0"), 0);
}

TEST_F(StartupGraceTest, AfterTheGraceFailuresCountAgain) {
  Step();
  Run(seconds(60));
  EXPECT_TRUE(health_.RecordProbe("uid-ams-0", false)) << "counted";
  FailProbes("ams-0", 1);
  ElectionOutcome o = Step();
  EXPECT_TRUE(o.transitioned);
  EXPECT_EQ(o.reason, FailoverReason::kProbeFailed);
  EXPECT_EQ(o.leader->name, "ams-1");
}

TEST_F(StartupGraceTest, AHandedOverLeaderGetsItsOwnGrace) {
  Step();
  Run(seconds(60));
  FailProbes("ams-0", 2);
  ASSERT_EQ(Step().leader->name, "ams-1");
  Run(seconds(30));
  FailProbes("ams-1", 5);
  EXPECT_FALSE(Step().transitioned) << "ams-1 is 30 s into its own grace";
}

TEST_F(StartupGraceTest, ANewlyActiveControllerGivesTheHolderItFindsAGraceToo) {
  Step();
  Run(seconds(120));
  elector_->Reset();  // another replica took over: when was ams-0 elected?
  Step();
  FailProbes("ams-0", 5);
  EXPECT_FALSE(Step().transitioned) << "delays a failover, never causes one";
}

TEST_F(StartupGraceTest, ZeroGraceCountsEveryFailureAsBefore) {
  cluster_.probe.startup_grace_period = seconds(0);
  elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
  Step();
  FailProbes("ams-0", 2);
  EXPECT_TRUE(Step().transitioned);
}

}  // namespace
}  // namespace amsha
