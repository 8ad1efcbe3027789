// A deterministic simulation of three gates, a controller that moves the
// lease at random, and database partitions cutting single gates off, on one
// fake clock. It checks the property the gate exists for: no two AMS
// processes are ever alive at the same instant, where "alive" lasts from
// the start until the stop completes (the whole stopGracePeriod, the worst
// case). The fence deadline is enforced the moment it passes, as
// GateLoop::EnforceFence does, even if the gate's own step is late.
#include <gtest/gtest.h>

#include <random>

#include "gate/ams_gate.h"
#include "support/fake_lease_store.h"

namespace amsha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeaseStore;
using Action = GateDecision::Action;

// The shared store as one gate sees it: unavailable while partitioned.
class PartitionedStore : public LeaseStore {
 public:
  explicit PartitionedStore(LeaseStore* db) : db_(db) {}
  void Cut(bool cut) { cut_ = cut; }
  bool cut() const { return cut_; }

  StatusOr<std::optional<LeaseRecord>> Read(const LeaseKey& key) override {
    if (cut_) return Down();
    return db_->Read(key);
  }
  StatusOr<LeaseRecord> Acquire(const LeaseKey& key, const LeaseHolder& holder,
                                milliseconds ttl) override {
    if (cut_) return Down();
    return db_->Acquire(key, holder, ttl);
  }
  StatusOr<LeaseRecord> Renew(const LeaseKey& key, const std::string& node_id, int32_t version,
                              milliseconds ttl) override {
    if (cut_) return Down();
    return db_->Renew(key, node_id, version, ttl);
  }
  StatusOr<LeaseRecord> RenewWithInfo(const LeaseKey& key, const std::string& node_id,
                                      int32_t version, milliseconds ttl,
                                      const std::string& info) override {
    if (cut_) return Down();
    return db_->RenewWithInfo(key, node_id, version, ttl, info);
  }
  StatusOr<LeaseRecord> HandOver(const LeaseKey& key, const std::string& from, int32_t version,
                                 const LeaseHolder& to, milliseconds ttl) override {
    if (cut_) return Down();
    return db_->HandOver(key, from, version, to, ttl);
  }
  Status Release(const LeaseKey& key, const std::string& node_id, int32_t version) override {
    if (cut_) return Down();
    return db_->Release(key, node_id, version);
  }
  Status PublishServiceInfo(const std::string&, const std::string&, int32_t, const LeaseHolder&,
                            const LeaseHolder&) override {
    return InternalError("gates never publish");
  }

 private:
  static Status Down() { return UnavailableError("partitioned"); }
  LeaseStore* db_;
  bool cut_ = false;
};

struct SimPod {
  std::unique_ptr<PartitionedStore> store;
  std::unique_ptr<AmsGate> gate;  // null while the gate process restarts
  bool alive = false;             // its AMS process exists
  std::optional<MonoTime> dead_at;
  std::optional<MonoTime> next_step;
  std::optional<MonoTime> restart_at;
  std::optional<MonoTime> heal_at;
  int starts = 0;
};

class GateFencingModel {
 public:
  explicit GateFencingModel(uint32_t seed) : db_(&clock_), rng_(seed) {
    cluster_.name = "prod";
    cluster_.lease_ttl = seconds(8);
    gate_.stop_grace_period = seconds(3);
    gate_.poll_interval = seconds(1);
    gate_.safety_margin = milliseconds(500);
    for (int i = 0; i < 3; ++i) {
      pods_.emplace_back();
      pods_[i].store = std::make_unique<PartitionedStore>(&db_);
      Restart(i);
    }
  }

  // Runs `duration` of simulated time in 50 ms ticks; false (with a
  // message) as soon as two AMS are alive at once.
  bool Run(milliseconds duration, bool chaos, std::string* failure) {
    const MonoTime end = clock_.Now() + duration;
    while (clock_.Now() < end) {
      if (chaos) Chaos();
      Controller(chaos);
      for (int i = 0; i < 3; ++i) Tick(i);
      int alive = 0;
      for (const SimPod& p : pods_) alive += p.alive ? 1 : 0;
      if (alive > 1) {
        *failure = "two AMS alive at t=" + std::to_string(Ms()) + " ms";
        return false;
      }
      clock_.Advance(milliseconds(50));
    }
    return true;
  }

  void HealAll() {
    for (SimPod& p : pods_) {
      p.store->Cut(false);
      p.heal_at.reset();
    }
  }
  // The pod whose AMS runs, or -1; -2 when more than one.
  int Running() const {
    int who = -1;
    for (int i = 0; i < 3; ++i) {
      if (pods_[i].alive) who = who == -1 ? i : -2;
    }
    return who;
  }
  int LeaseHolder() {
    auto row = db_.Row({"prod", kAmsServiceName});
    if (!row || row->Expired()) return -1;
    for (int i = 0; i < 3; ++i) {
      if (row->node_id == NodeId(i)) return i;
    }
    return -1;
  }
  int starts() const {
    int n = 0;
    for (const SimPod& p : pods_) n += p.starts;
    return n;
  }
  int fenced = 0;  // stops by the fence deadline

 private:
  static std::string NodeId(int i) {
    return "10.0.0." + std::to_string(i) + ":1261:uid-" + std::to_string(i);
  }
  int64_t Ms() const {
    return std::chrono::duration_cast<milliseconds>(clock_.Now().time_since_epoch()).count();
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  milliseconds Between(int lo_ms, int hi_ms) {
    return milliseconds(std::uniform_int_distribution<int>(lo_ms, hi_ms)(rng_));
  }

  void Restart(int i) {
    GateIdentity me{"ams-" + std::to_string(i), "uid-" + std::to_string(i),
                    "10.0.0." + std::to_string(i)};
    pods_[i].gate = std::make_unique<AmsGate>(me, cluster_, gate_, pods_[i].store.get(), &clock_);
    pods_[i].next_step = clock_.Now();
    pods_[i].restart_at.reset();
  }

  // The controller renews its choice every second and now and then moves
  // it (a failover) or lets it lapse (a controller outage).
  void Controller(bool chaos) {
    if (clock_.Now() < controller_next_) return;
    controller_next_ = clock_.Now() + seconds(1);
    if (controller_down_until_ && clock_.Now() < *controller_down_until_) return;
    if (chaos && Chance(0.04)) {
      controller_down_until_ = clock_.Now() + Between(1000, 12000);
      return;
    }
    if ((chaos && Chance(0.15)) || choice_ < 0)
      choice_ = std::uniform_int_distribution<int>(0, 2)(rng_);
    db_.Put({"prod", kAmsServiceName}, {NodeId(choice_), "10.0.0." + std::to_string(choice_), "{}"},
            cluster_.lease_ttl);
  }

  void Chaos() {
    for (SimPod& p : pods_) {
      if (p.heal_at && clock_.Now() >= *p.heal_at) {
        p.store->Cut(false);
        p.heal_at.reset();
      } else if (!p.store->cut() && Chance(0.002)) {
        p.store->Cut(true);
        p.heal_at = clock_.Now() + Between(500, 20000);
      }
    }
  }

  void Tick(int i) {
    SimPod& p = pods_[i];
    const MonoTime now = clock_.Now();
    if (p.dead_at && now >= *p.dead_at) {
      // The stop completed: AMS is gone; the gate releases and exits.
      p.alive = false;
      p.dead_at.reset();
      p.gate->ReleaseRow();
      p.gate.reset();
      p.restart_at = now + seconds(1);
    }
    if (!p.gate) {
      if (p.restart_at && now >= *p.restart_at) Restart(i);
      return;
    }
    if (p.dead_at) return;  // stopping
    // GateLoop::EnforceFence: at the deadline, whatever the step is doing.
    auto deadline = p.gate->fence_deadline();
    if (p.alive && (!deadline || now >= *deadline)) {
      ++fenced;
      p.dead_at = now + gate_.stop_grace_period;
      return;
    }
    if (!p.next_step || now < *p.next_step) return;
    GateDecision d = p.gate->Step(p.alive);
    if (d.action == Action::kStartAms) {
      p.alive = true;
      ++p.starts;
    } else if (d.action == Action::kStopAms) {
      p.dead_at = now + gate_.stop_grace_period;
      return;
    }
    // A NOTIFY may wake it any time sooner.
    milliseconds wait = d.next_step;
    if (Chance(0.3)) wait = std::min(wait, Between(0, 200));
    p.next_step = now + wait;
  }

  FakeClock clock_;
  FakeLeaseStore db_;
  std::mt19937 rng_;
  ClusterConfig cluster_;
  GateConfig gate_;
  std::vector<SimPod> pods_;
  MonoTime controller_next_{};
  std::optional<MonoTime> controller_down_until_;
  int choice_ = -1;
};

TEST(GateFencingModelTest, NeverTwoAmsAliveUnderRandomFailoversOutagesAndPartitions) {
  int total_starts = 0, total_fenced = 0;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    GateFencingModel model(seed);
    std::string failure;
    ASSERT_TRUE(model.Run(seconds(600), /*chaos=*/true, &failure))
        << "seed " << seed << ": " << failure;
    total_starts += model.starts();
    total_fenced += model.fenced;
  }
  // The chaos must actually exercise failovers and fencing.
  EXPECT_GT(total_starts, 200);
  EXPECT_GT(total_fenced, 10);
}

TEST(GateFencingModelTest, OnceEverythingHealsExactlyTheLeaseHolderRunsAms) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    GateFencingModel model(seed);
    std::string failure;
    ASSERT_TRUE(model.Run(seconds(300), /*chaos=*/true, &failure)) << failure;
    model.HealAll();
    // Long enough for a controller outage to end and a row to expire.
    ASSERT_TRUE(model.Run(seconds(40), /*chaos=*/false, &failure)) << failure;
    int holder = model.LeaseHolder();
    ASSERT_GE(holder, 0) << "seed " << seed;
    EXPECT_EQ(model.Running(), holder) << "seed " << seed;
  }
}

}  // namespace
}  // namespace amsha
