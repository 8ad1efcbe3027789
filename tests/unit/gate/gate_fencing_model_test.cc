// A deterministic simulation of three gates, a controller that moves the
// lease at random, database partitions cutting single gates off, gate
// processes stalled alone (SIGSTOP, a blocked log pipe) and whole pods
// suspended (a paused VM: gate, fence and AMS frozen while time runs), on
// one fake clock. It checks the property the gate exists for: no two AMS
// processes ever act at the same instant. AMS lives from its start until it
// exits: a deliberate stop (SIGTERM) takes a random part of the grace or,
// for an AMS that ignores SIGTERM, all of it, then SIGKILL. The fence is a
// process of its own (GateLoop's FenceProcess): it kills AMS the moment the
// kill deadline passes, even while the gate is stalled; a suspended pod's
// fence acts on resume before its AMS does (CLOCK_BOOTTIME counted the
// suspend). A suspended AMS exists but does not act.
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
  StatusOr<std::vector<LeaseRecord>> ReadClusters(const std::vector<std::string>& names) override {
    if (cut_) return Down();
    return db_->ReadClusters(names);
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
  bool ignores_sigterm = false;
  std::optional<MonoTime> stop_sent;  // the gate is stopping AMS
  std::optional<MonoTime> exits_at;   // when a stopping AMS exits by itself
  std::optional<MonoTime> next_step;
  std::optional<MonoTime> restart_at;
  std::optional<MonoTime> heal_at;
  std::optional<MonoTime> stalled_until;    // the gate process alone
  std::optional<MonoTime> suspended_until;  // the whole pod
  int starts = 0;
};

class GateFencingModel {
 public:
  explicit GateFencingModel(uint32_t seed) : db_(&clock_), rng_(seed) {
    cluster_.name = "prod";
    cluster_.lease_ttl = seconds(8);
    gate_.stop_grace_period = seconds(3);
    gate_.poll_interval = seconds(1);
    gate_.row_ttl = seconds(6);
    gate_.renew_interval = seconds(1);
    gate_.safety_margin = milliseconds(500);
    for (int i = 0; i < 3; ++i) {
      pods_.emplace_back();
      pods_[i].store = std::make_unique<PartitionedStore>(&db_);
      Restart(i);
    }
  }

  // Runs `duration` of simulated time in 50 ms ticks; false (with a
  // message) as soon as two AMS act at once.
  bool Run(milliseconds duration, bool chaos, std::string* failure) {
    const MonoTime end = clock_.Now() + duration;
    while (clock_.Now() < end) {
      if (chaos) Chaos();
      Controller(chaos);
      for (int i = 0; i < 3; ++i) Tick(i);
      int acting = 0;
      for (const SimPod& p : pods_) acting += p.alive && !Suspended(p) ? 1 : 0;
      if (acting > 1) {
        *failure = "two AMS act at t=" + std::to_string(Ms()) + " ms";
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
      p.stalled_until.reset();
      p.suspended_until.reset();
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
  int fenced = 0;          // AMS killed by the fence at its deadline
  int stalls = 0;          // gate stalls that outlived the kill deadline
  int suspends = 0;        // pod suspends
  bool boot_clock = true;  // false: a fence whose clock skips suspends (the bug)

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
  bool Suspended(const SimPod& p) const {
    return p.suspended_until && clock_.Now() < *p.suspended_until;
  }
  bool Stalled(const SimPod& p) const {
    return Suspended(p) || (p.stalled_until && clock_.Now() < *p.stalled_until);
  }

  void Restart(int i) {
    GateIdentity me{"ams-" + std::to_string(i), "uid-" + std::to_string(i),
                    "10.0.0." + std::to_string(i)};
    pods_[i].gate = std::make_unique<AmsGate>(me, cluster_, gate_, pods_[i].store.get(), &clock_);
    pods_[i].next_step = clock_.Now();
    pods_[i].restart_at.reset();
    pods_[i].stop_sent.reset();
    pods_[i].exits_at.reset();
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
      if (!Stalled(p) && Chance(0.001)) {
        p.stalled_until = clock_.Now() + Between(500, 40000);
        ++stalls;
      }
      if (!Suspended(p) && Chance(0.0005)) {
        p.suspended_until = clock_.Now() + Between(500, 30000);
        suspended_for_ = *p.suspended_until - clock_.Now();
        ++suspends;
      }
    }
  }

  void Kill(SimPod& p) {
    p.alive = false;
    p.exits_at.reset();
  }

  // The fence process: SIGKILL at the kill deadline, whatever the gate does.
  void Fence(SimPod& p, MonoTime now) {
    if (!p.alive || !p.gate) return;
    auto deadline = p.gate->fence_deadline();
    // A clock that skipped the suspend sees the deadline that much later.
    if (deadline && !boot_clock && p.suspended_until) *deadline += suspended_for_;
    if (!deadline || now >= *deadline) {
      ++fenced;
      Kill(p);
    }
  }

  void Tick(int i) {
    SimPod& p = pods_[i];
    const MonoTime now = clock_.Now();
    if (Suspended(p)) return;  // nothing of this pod runs, time goes on
    Fence(p, now);             // on resume, before AMS acts
    if (p.alive && p.exits_at && now >= *p.exits_at) Kill(p);  // exited after SIGTERM
    if (!p.gate) {
      if (p.restart_at && now >= *p.restart_at) Restart(i);
      return;
    }
    if (Stalled(p)) return;
    if (p.stop_sent) {
      // GateLoop::StopPass: AMS gone -> release and exit; grace over ->
      // SIGKILL; else keep the row.
      if (!p.alive) {
        p.gate->ReleaseRow();
        p.gate.reset();
        p.restart_at = now + seconds(1);
        return;
      }
      if (now - *p.stop_sent >= gate_.stop_grace_period) {
        Kill(p);
        return;
      }
      if (now < *p.next_step) return;
      p.gate->ReportAms({AmsReport::State::kStopping, std::nullopt, std::nullopt});
      Status renewed = p.gate->RenewRow();
      if (renewed.IsConflict()) Kill(p);
      p.next_step = now + (renewed.ok() ? gate_.renew_interval : milliseconds(250));
      return;
    }
    if (!p.next_step || now < *p.next_step) return;
    GateDecision d = p.gate->Step(p.alive);
    if (d.action == Action::kStartAms) {
      p.alive = true;
      p.ignores_sigterm = Chance(0.2);
      ++p.starts;
    } else if (d.action == Action::kStopAms) {
      p.stop_sent = now;
      if (d.kill_now) {
        Kill(p);
      } else if (!p.ignores_sigterm) {
        p.exits_at = now + Between(0, static_cast<int>(gate_.stop_grace_period.count()));
      }
      p.next_step = now;
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
  std::chrono::nanoseconds suspended_for_{0};
  int choice_ = -1;
};

TEST(GateFencingModelTest, NeverTwoAmsActUnderFailoversOutagesPartitionsStallsAndSuspends) {
  int total_starts = 0, total_fenced = 0, total_stalls = 0, total_suspends = 0;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    GateFencingModel model(seed);
    std::string failure;
    ASSERT_TRUE(model.Run(seconds(600), /*chaos=*/true, &failure))
        << "seed " << seed << ": " << failure;
    total_starts += model.starts();
    total_fenced += model.fenced;
    total_stalls += model.stalls;
    total_suspends += model.suspends;
  }
  // The chaos must actually exercise failovers, stalls, suspends and fencing.
  EXPECT_GT(total_starts, 200);
  EXPECT_GT(total_fenced, 10);
  EXPECT_GT(total_stalls, 100);
  EXPECT_GT(total_suspends, 50);
}

TEST(GateFencingModelTest, AFenceWhoseClockSkipsSuspendsLetsTwoAmsAct) {
  // The model can fail: CLOCK_MONOTONIC instead of CLOCK_BOOTTIME.
  bool failed = false;
  for (uint32_t seed = 1; seed <= 20 && !failed; ++seed) {
    GateFencingModel model(seed);
    model.boot_clock = false;
    std::string failure;
    failed = !model.Run(seconds(600), /*chaos=*/true, &failure);
  }
  EXPECT_TRUE(failed);
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
