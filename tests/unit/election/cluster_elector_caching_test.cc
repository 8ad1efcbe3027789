// ClusterElector over CachingLeaseStore (issue 15): with the cache kept
// current as LeaseRowFeed keeps it (batched reads of rows near their cached
// expiry; notifying writes put), a steady leader under the gate costs its
// renewals and a few batched reads instead of two reads per pass, and a
// crashed leader is still failed over once its gate row lapses.
#include <gtest/gtest.h>

#include <functional>

#include "election/cluster_elector.h"
#include "election/pod_identity.h"
#include "gate/ams_gate.h"
#include "lease/caching_lease_store.h"
#include "lease/lease_row_cache.h"
#include "support/fake_lease_store.h"
#include "support/pod_builder.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;
using testing::PodBuilder;

constexpr milliseconds kTick{500};
constexpr milliseconds kGateTtl{8000};

class ClusterElectorCachingTest : public ::testing::Test {
 public:
  ClusterElectorCachingTest() : db_(&clock_), health_(&clock_) {
    cluster_.name = "prod";
    cluster_.pod_selector = "app=amoro";
    elector_ = std::make_unique<ClusterElector>(cluster_, &store_, &clock_, &health_);
    pods_ = {PodBuilder("ams-0").ReadySince("2026-01-01T00:00:01Z"),
             PodBuilder("ams-1").ReadySince("2026-01-01T00:00:02Z")};
    FeedReads({"prod"});
  }

  // The feed's batched read of `clusters`.
  void FeedReads(const std::vector<std::string>& clusters) {
    const MonoTime sent = clock_.Now();
    auto rows = db_.ReadClusters(clusters);
    ASSERT_TRUE(rows.ok());
    cache_.PutClusters(clusters, *rows, sent, true);
  }
  // One turn of the feed: clusters with a row near its cached expiry.
  void FeedTurn() {
    std::vector<std::string> due = cache_.ClustersToRefresh(milliseconds(2000));
    if (!due.empty()) FeedReads(due);
  }
  const LeaseKey gate_key_{"prod", kGateServiceName};
  // The leader's gate takes its row and reports `ams` (a notifying write:
  // the feed puts the row it carries).
  void GateTakes(const std::string& ams) {
    const Pod& p = pods_[0];
    std::string json = R"({"pod":")" + p.name + R"(","podUid":")" + p.uid + R"(","ams":")" + ams +
                       R"(","amsStartedAtMs":1,"servingSinceMs":1})";
    db_.Put(gate_key_, {HolderFor(p, cluster_).node_id, p.pod_ip, json}, kGateTtl);
    cache_.Put(*db_.Row(gate_key_));
  }
  // The gate renews its row with unchanged state: silent.
  void GateRenews() {
    auto row = db_.Row(gate_key_);
    ASSERT_TRUE(row.has_value());
    ASSERT_TRUE(db_.Renew(gate_key_, *row->node_id, row->version, kGateTtl).ok());
  }
  int Calls(const std::string& call) {
    int n = 0;
    for (const std::string& c : db_.Calls()) n += c == call ? 1 : 0;
    return n;
  }
  // Steps every tick for `d`; returns when the leader moved, if it did.
  std::optional<milliseconds> Run(milliseconds d, bool gate_alive) {
    for (milliseconds t(0); t < d; t += kTick) {
      clock_.Advance(kTick);
      if (gate_alive && (t + kTick) % milliseconds(1000) == milliseconds(0)) GateRenews();
      if ((t + kTick) % cluster_.probe.period == milliseconds(0)) {
        health_.RecordProbe(pods_[0].uid, gate_alive);
      }
      FeedTurn();
      health_.ObservePods(pods_);
      ElectionOutcome o = elector_->Step(pods_);
      EXPECT_TRUE(o.status.ok() || o.status.IsConflict()) << o.status.ToString();
      if (o.transitioned) return t + kTick;
    }
    return std::nullopt;
  }
  void ElectServingLeader() {
    health_.ObservePods(pods_);
    ElectionOutcome first = elector_->Step(pods_);
    ASSERT_EQ(first.leader->name, "ams-0");
    GateTakes("serving");
    ASSERT_FALSE(Run(seconds(4), true).has_value());
    db_.ClearCalls();
  }

  FakeClock clock_;
  FakeLeaseStore db_;
  LeaseRowCache cache_{&clock_};
  CachingLeaseStore store_{&db_, &cache_, &clock_};
  HealthTracker health_;
  ClusterConfig cluster_;
  std::unique_ptr<ClusterElector> elector_;
  std::vector<Pod> pods_;
};

TEST_F(ClusterElectorCachingTest, ASteadyLeaderCostsItsRenewalsAndAFewBatchedReads) {
  ElectServingLeader();
  ASSERT_FALSE(Run(seconds(60), true).has_value());
  // 120 passes: no single-row read, one renewal per heartbeat (10 s), and
  // the gate row (8 s ttl, renewed silently) re-read in a batch about
  // every 6 s.
  EXPECT_EQ(db_.CountCalls("Read"), 0);
  EXPECT_NEAR(Calls("Renew AMS/prod"), 6, 1);
  EXPECT_LE(db_.CountCalls("ReadClusters"), 12);
  EXPECT_GE(db_.CountCalls("ReadClusters"), 8);
}

TEST_F(ClusterElectorCachingTest, ACrashedLeaderIsStillFailedOverOnceItsGateRowLapses) {
  ElectServingLeader();
  auto moved = Run(seconds(30), /*gate_alive=*/false);
  ASSERT_TRUE(moved.has_value());
  const milliseconds window = cluster_.probe.period * cluster_.probe.failure_threshold;
  EXPECT_LE(*moved, std::max(window, kGateTtl) + kTick);
}

}  // namespace
}  // namespace amsha
