// failover_bench: how long AMS users wait after a failure, measured end to
// end against real processes, next to Amoro's own database HA as a baseline.
//
//   failover_bench [--rounds 2] [--delays 0s,8s] [--amoro-rounds 3]
//                  [--amoro-ttl 30s] [--amoro-heartbeat 10s] [--plain-rounds 0]
//
// Part 1 (headline): PostgreSQL + the API stand-in + its kubelet stand-in +
// two controller replicas + three pods running a simulated AMS under the gate
// (GatedPods), with the SHIPPED timing (controller lease 15s/10s/2s,
// leaseTtl 30s, heartbeat 10s, notReadyGracePeriod 5s, probe 2s/1s/3,
// startupGracePeriod 5m; gate stopGracePeriod 30s, pollInterval 2s, rowTtl
// 8s). The simulated AMS opens its REST port `delay` after it starts (0 s,
// and 8 s like a JVM) and takes 1.5 s to stop after SIGTERM. For each kind:
//   delete      graceful delete of the leader pod (grace 30 s)
//   notready    the leader's readiness fails (kubelet reports NotReady)
//   crash       every process of the leader pod SIGKILLed, pod still Ready
//   partition   the leader's gate cut off from the database (its node's
//               database traffic black-holed), pod still Ready
//   ctl-kill    SIGKILL of the active controller replica
//   switchover  `ams-ha-controller switchover` to another pod
// two figures, from the trigger (CLOCK_MONOTONIC):
//   serving     a client connecting through ams-leader (the stand-in's
//               forwarding) gets an answer from the new leader's AMS; for
//               ctl-kill, the longest gap between two answers (the leader
//               does not change)
//   switched    the stand-in recorded the Service selecting the new leader
// and the journals (every AMS start and stop) must never show two AMS.
// Part 2 (baseline): three threads electing themselves with the statements
// and timing of Amoro's DataBaseHighAvailabilityContainer (AmoroHaWriter):
// the leader "dies" (its thread stops); timed until another holds the lease,
// and, under the same AMS model, until it serves: + the port-open delay (a
// follower AMS of Amoro's own HA starts its services only once it leads).
// Part 3 (optional, --plain-rounds): the controller alone with always-on
// fake AMS processes and the end-to-end harness's short timing (the
// figures of earlier versions: Service switched after delete, NotReady,
// an unreachable leader).
#include <arpa/inet.h>
#include <cpprest/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "common/duration.h"
#include "lease/postgres_conninfo.h"
#include "lease/postgres_lease_store.h"
#include "support/amoro_ha_writer.h"
#include "support/e2e_cluster.h"
#include "support/gated_pods.h"
#include "support/sql_session.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Stats {
  std::vector<double> ms;
  double Pct(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()));
    return v[i];
  }
  double Max() const { return ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end()); }
};

void Print(const char* name, const Stats& s) {
  std::printf("%-34s n=%-4zu p50=%9.1f ms  p95=%9.1f ms  p99=%9.1f ms  max=%9.1f ms\n", name,
              s.ms.size(), s.Pct(50), s.Pct(95), s.Pct(99), s.Max());
}

// When the stand-in recorded the Service selecting exactly `pod`, at or
// after `since_ns`; 0 if not (yet).
int64_t SwitchedAt(E2eCluster& cluster, const std::string& pod, int64_t since_ns) {
  web::json::value record = web::json::value::parse(cluster.standin().SelectorRecord());
  for (const auto& e : record.as_array()) {
    if (e.at("service").as_string() != "ams-leader") continue;
    int64_t mono = e.at("monoNs").as_number().to_int64();
    const auto& matched = e.at("matched").as_array();
    if (mono >= since_ns && matched.size() == 1 && matched.at(0).as_string() == pod) return mono;
  }
  return 0;
}

int ForwardPort(E2eCluster& cluster) {
  web::json::value forwards = web::json::value::parse(cluster.standin().Forwards());
  for (const auto& f : forwards.as_array()) {
    if (f.at("service").as_string() == "ams-leader" && f.at("port").as_integer() == 1630) {
      return f.at("localPort").as_integer();
    }
  }
  return 0;
}

// A client that keeps connecting through ams-leader and logs who answered.
class Client {
 public:
  explicit Client(int port) : port_(port), thread_([this] { Run(); }) {}
  ~Client() {
    stop_ = true;
    thread_.join();
  }
  // Time of the first answer from `pod` after `t0`; 0 if none yet.
  int64_t FirstAnswerFrom(const std::string& pod, int64_t t0) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [t, who] : log_) {
      if (t > t0 && who == pod) return t;
    }
    return 0;
  }
  // The longest time between two answers (from anyone) within [t0, t1].
  double LongestGapMs(int64_t t0, int64_t t1) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t last = t0, longest = 0;
    for (const auto& [t, who] : log_) {
      if (t < t0 || who.empty()) continue;
      if (t > t1) break;
      longest = std::max(longest, t - last);
      last = t;
    }
    longest = std::max(longest, t1 - last);
    return longest / 1e6;
  }
  // Last answer from `old` before `t0`..first answer from another pod after.
  double GapMs(const std::string& old, int64_t t0) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t last_old = 0, first_new = 0;
    for (const auto& [t, who] : log_) {
      if (who == old && t <= t0) last_old = t;
      if (who == old && t > t0 && first_new == 0) last_old = t;  // still answering
      if (t > t0 && !who.empty() && who != old && first_new == 0) first_new = t;
    }
    if (last_old == 0 || first_new == 0) return -1;
    return (first_new - last_old) / 1e6;
  }

 private:
  void Run() {
    while (!stop_) {
      std::string who = Ask();
      int64_t t = NowNs();
      {
        std::lock_guard<std::mutex> lock(mu_);
        log_.emplace_back(t, who);
      }
      std::this_thread::sleep_for(milliseconds(2));
    }
  }
  std::string Ask() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{0, 500000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      char buf[64];
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n > 0) answer.assign(buf, n);
    }
    close(fd);
    while (!answer.empty() && answer.back() == '\n') answer.pop_back();
    return answer;
  }

  int port_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<int64_t, std::string>> log_;
  std::thread thread_;
};

int IndexOf(const std::string& pod) { return std::stoi(pod.substr(pod.find('-') + 1)); }

bool RunController(int rounds, Stats* deleted, Stats* notready, Stats* probe, Stats* gap,
                   Stats* takeover) {
  E2eOptions options;
  options.not_ready_grace = "0s";
  E2eCluster cluster(options);
  Status s = cluster.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "cannot start the cluster: %s\n", s.ToString().c_str());
    return false;
  }
  Client client(ForwardPort(cluster));
  std::this_thread::sleep_for(milliseconds(200));
  for (int round = 0; round < 3 * rounds; ++round) {
    enum { kDelete, kNotReady, kProbe } kind = static_cast<decltype(kDelete)>(round % 3);
    std::string old = cluster.LeaseHolderPod();
    int i = IndexOf(old);
    int64_t t0 = NowNs();
    if (kind == kDelete) {
      cluster.DeletePod(i, /*grace_seconds=*/0);
    } else if (kind == kNotReady) {
      cluster.SetReady(i, false);
    } else {
      cluster.KillAms(i);  // Ready in the API, but nobody answers: a lost node
    }
    std::string next;
    int64_t switched = 0;
    bool ok = E2eCluster::WaitUntil(
        [&] {
          next = cluster.LeaseHolderPod();
          if (next.empty() || next == old) return false;
          switched = SwitchedAt(cluster, next, t0);
          return switched != 0;
        },
        milliseconds(10000));
    if (!ok) {
      std::fprintf(stderr, "round %d: no failover from %s\n%s\n", round, old.c_str(),
                   cluster.Logs().c_str());
      return false;
    }
    Stats* stats = kind == kDelete ? deleted : kind == kNotReady ? notready : probe;
    stats->ms.push_back((switched - t0) / 1e6);
    std::this_thread::sleep_for(milliseconds(300));
    double g = client.GapMs(old, t0);
    if (g >= 0 && kind != kProbe) gap->ms.push_back(g);
    // Put the old pod back as a follower, for the next round.
    if (kind == kDelete) {
      E2eCluster::WaitUntil([&] { return cluster.AddPod(i).ok(); }, milliseconds(5000));
    } else if (kind == kNotReady) {
      cluster.SetReady(i, true);
    } else if (!cluster.StartAms(i).ok()) {
      std::fprintf(stderr, "cannot restart fake-ams %d\n", i);
      return false;
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
  // The controllers' own failover: SIGKILL the active replica, time until
  // the standby holds the controller row (leaseDuration 3s, retryPeriod
  // 500ms in this harness), and check that the AMS leader never moved.
  for (int round = 0; round < 5; ++round) {
    std::string active = cluster.ActiveController();
    std::string leader = cluster.LeaseHolderPod();
    int i = active == "ctl-0" ? 0 : 1;
    int64_t t0 = NowNs();
    cluster.KillController(i, SIGKILL);
    if (!E2eCluster::WaitUntil(
            [&] {
              std::string now = cluster.ActiveController();
              return !now.empty() && now != active;
            },
            milliseconds(15000))) {
      std::fprintf(stderr, "no controller takeover\n%s\n", cluster.Logs().c_str());
      return false;
    }
    takeover->ms.push_back((NowNs() - t0) / 1e6);
    if (cluster.LeaseHolderPod() != leader) {
      std::fprintf(stderr, "a controller takeover moved the AMS leader!\n");
      return false;
    }
    if (!cluster.StartController(i).ok()) return false;
    std::this_thread::sleep_for(milliseconds(1000));
  }
  if (cluster.MaxSelectedEver() > 1) {
    std::fprintf(stderr, "the Service selected two pods at once!\n");
    return false;
  }
  return true;
}

// Part 1: AMS under the gate, shipped timing.
struct KindStats {
  Stats serving, switched;
};
const char* const kKinds[] = {"delete", "notready", "crash", "partition", "ctl-kill", "switchover"};

bool WaitServing(E2eCluster& cluster, GatedPods& pods, milliseconds timeout) {
  return E2eCluster::WaitUntil(
      [&] {
        std::string leader = cluster.LeaseHolderPod();
        return !leader.empty() && cluster.Agrees() &&
               pods.Journal().Active() == std::vector<std::string>{leader} &&
               cluster.AskThroughService() == leader;
      },
      timeout);
}

bool RunGated(const std::string& delay, int rounds, std::map<std::string, KindStats>* out,
              int* overlaps) {
  E2eOptions options = E2eOptions::ShippedTimingUnderTheGate();
  options.pod_ip_base = 70;
  E2eCluster cluster(options);
  Status s = cluster.Start(false);
  GatedPodsOptions gate;
  gate.stop_grace = "30s";
  gate.poll_interval = "2s";
  gate.ams_args = {"--start-delay", delay, "--stop-delay", "1.5s"};
  GatedPods pods(&cluster, gate);
  if (s.ok()) s = pods.Start();
  for (int i = 0; s.ok() && i < 2; ++i) s = cluster.StartController(i);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot start the cluster: %s\n", s.ToString().c_str());
    return false;
  }
  if (!WaitServing(cluster, pods, milliseconds(90000))) {
    std::fprintf(stderr, "no leader serving\n%s\n", cluster.Logs().c_str());
    return false;
  }
  Client client(ForwardPort(cluster));
  std::this_thread::sleep_for(milliseconds(500));
  for (int round = 0; round < rounds; ++round) {
    for (const char* kind : kKinds) {
      const std::string k = kind;
      const std::string old = cluster.LeaseHolderPod();
      const int i = IndexOf(old);
      const int64_t t0 = NowNs();
      std::string active;
      if (k == "delete") {
        cluster.DeletePod(i, /*grace_seconds=*/30);
      } else if (k == "notready") {
        pods.ForceNotReady(i, true);
      } else if (k == "crash") {
        if (!pods.CrashPod(i).ok()) return false;
      } else if (k == "partition") {
        pods.Partition(i, true);
      } else if (k == "ctl-kill") {
        active = cluster.ActiveController();
        cluster.KillController(active == "ctl-0" ? 0 : 1, SIGKILL);
      } else {
        std::string target = E2eCluster::PodName((i + 1) % 3);
        std::string cli_out;
        cluster.RunCli("switchover", "--cluster prod --to " + target + " --timeout 30s", &cli_out);
      }
      KindStats& stats = (*out)[k];
      if (k == "ctl-kill") {
        bool took_over = E2eCluster::WaitUntil(
            [&] {
              std::string now = cluster.ActiveController();
              return !now.empty() && now != active;
            },
            milliseconds(30000));
        std::this_thread::sleep_for(milliseconds(3000));
        if (!took_over || cluster.LeaseHolderPod() != old) {
          std::fprintf(stderr, "ctl-kill: no takeover, or the AMS leader moved\n%s\n",
                       cluster.Logs().c_str());
          return false;
        }
        stats.serving.ms.push_back(client.LongestGapMs(t0, NowNs()));
        if (!cluster.StartController(active == "ctl-0" ? 0 : 1).ok()) return false;
      } else {
        std::string next;
        int64_t served = 0;
        bool ok = E2eCluster::WaitUntil(
            [&] {
              next = cluster.LeaseHolderPod();
              if (next.empty() || next == old) return false;
              served = client.FirstAnswerFrom(next, t0);
              return served != 0;
            },
            milliseconds(120000));
        if (!ok) {
          std::fprintf(stderr, "%s round %d: no new leader serving after %s\n%s\n%s\n", kind, round,
                       old.c_str(), cluster.Logs().c_str(), pods.Logs().c_str());
          return false;
        }
        stats.serving.ms.push_back((served - t0) / 1e6);
        int64_t switched = SwitchedAt(cluster, next, t0);
        if (switched != 0) stats.switched.ms.push_back((switched - t0) / 1e6);
      }
      std::printf("  delay %-3s %-10s round %d: serving again after %8.1f ms\n", delay.c_str(),
                  kind, round + 1, stats.serving.ms.back());
      if (stats.serving.ms.back() > 20000 + 1000 * (amsha::ParseDuration(delay)->count() / 1000)) {
        // Far off what the rules predict: keep the evidence.
        std::fprintf(stderr, "slow %s round %d:\n%s\n%s\n", kind, round + 1, cluster.Logs().c_str(),
                     pods.Logs().c_str());
      }
      std::fflush(stdout);
      // Put the old pod back as a follower, for the next round.
      if (k == "delete") {
        E2eCluster::WaitUntil([&] { return cluster.AddPod(i).ok(); }, milliseconds(60000));
      } else if (k == "notready") {
        pods.ForceNotReady(i, false);
      } else if (k == "crash") {
        pods.RecoverPod(i);
      } else if (k == "partition") {
        pods.Partition(i, false);
      }
      // Settled, and every pod Ready again (a candidate for the next kind).
      bool settled = WaitServing(cluster, pods, milliseconds(120000)) &&
                     E2eCluster::WaitUntil(
                         [&] {
                           auto states = cluster.PodStates();
                           int ready = 0;
                           for (const auto& [name, st] : states) ready += st.ready ? 1 : 0;
                           return ready == 3;
                         },
                         milliseconds(60000));
      if (!settled) {
        std::fprintf(stderr, "did not settle after %s\n%s\n%s\n", kind, cluster.Logs().c_str(),
                     pods.Logs().c_str());
        return false;
      }
    }
  }
  const std::string overlap = pods.Journal().FirstOverlap();
  if (!overlap.empty()) {
    ++*overlaps;
    std::printf("TWO AMS AT ONCE (delay %s): %s\n", delay.c_str(), overlap.c_str());
  }
  if (cluster.MaxSelectedEver() > 1) {
    std::fprintf(stderr, "the Service selected two pods at once!\n");
    return false;
  }
  return true;
}

// Part 2: Amoro's own database HA, three AMS nodes.
bool RunAmoro(int rounds, milliseconds ttl, milliseconds heartbeat, Stats* out) {
  PostgresServer server;
  if (!server.Start().ok()) return false;
  auto store = PostgresLeaseStore::Create(server.StoreOptions());
  Status schema = store.ok() ? (*store)->ApplySchema() : store.status();
  if (!schema.ok()) {
    std::fprintf(stderr, "schema: %s\n", schema.ToString().c_str());
    return false;
  }
  std::mt19937 rng(42);
  for (int round = 0; round < rounds; ++round) {
    std::string cluster = "amoro-" + std::to_string(round);
    std::atomic<bool> stop{false};
    std::atomic<int> dead{-1};
    std::atomic<int64_t> new_leader_at{0};
    std::atomic<int> leader{-1};
    std::atomic<int64_t> died_at{0};
    std::vector<std::thread> nodes;
    for (int n = 0; n < 3; ++n) {
      nodes.emplace_back([&, n] {
        auto session = SqlSession::Open(
            ComposeConnInfo(server.url(), server.password(), std::chrono::seconds(5)));
        if (!session.ok()) return;
        AmoroHaWriter writer(session->get(), cluster, "127.0.0.1:1261:node-" + std::to_string(n),
                             "127.0.0.1", ttl);
        bool is_leader = false;
        // Nodes start at different phases of their heartbeat, as real ones do.
        std::mt19937 phase(static_cast<unsigned>(round * 3 + n));
        std::this_thread::sleep_for(milliseconds(phase() % heartbeat.count()));
        while (!stop && dead != n) {
          if (is_leader) {
            auto renewed = writer.TryRenew();
            is_leader = renewed.ok() && renewed.value();
          } else {
            auto acquired = writer.TryAcquire();
            is_leader = acquired.ok() && acquired.value();
            if (is_leader) {
              if (leader >= 0 && dead == leader && new_leader_at == 0) new_leader_at = NowNs();
              leader = n;
            }
          }
          auto until = Clock::now() + heartbeat;
          while (!stop && dead != n && Clock::now() < until) {
            std::this_thread::sleep_for(milliseconds(20));
          }
        }
      });
    }
    // Let a leader settle, then kill it at a random point of its heartbeat.
    while (leader < 0) std::this_thread::sleep_for(milliseconds(20));
    std::this_thread::sleep_for(heartbeat + milliseconds(rng() % heartbeat.count()));
    died_at = NowNs();
    dead = leader.load();
    while (new_leader_at == 0) std::this_thread::sleep_for(milliseconds(20));
    out->ms.push_back((new_leader_at - died_at) / 1e6);
    std::printf("  amoro round %d: %.1f s\n", round + 1, out->ms.back() / 1000);
    std::fflush(stdout);
    stop = true;
    for (auto& t : nodes) t.join();
  }
  return true;
}

}  // namespace
}  // namespace amsha::testing

int main(int argc, char** argv) {
  using namespace amsha::testing;
  int rounds = 2, amoro_rounds = 3, plain_rounds = 0;
  std::vector<std::string> delays = {"0s", "8s"};
  milliseconds ttl(30000), heartbeat(10000);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--rounds") rounds = std::stoi(value);
    if (flag == "--amoro-rounds") amoro_rounds = std::stoi(value);
    if (flag == "--plain-rounds") plain_rounds = std::stoi(value);
    if (flag == "--amoro-ttl") ttl = *amsha::ParseDuration(value);
    if (flag == "--amoro-heartbeat") heartbeat = *amsha::ParseDuration(value);
    if (flag == "--delays") {
      delays.clear();
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        if (comma > start) delays.push_back(value.substr(start, comma - start));
        start = comma + 1;
      }
    }
  }
  std::printf(
      "ams-ha-controller failover benchmark: AMS under the gate, shipped timing, %d round(s) of "
      "each kind per AMS start delay\n",
      rounds);
  std::fflush(stdout);
  std::map<std::string, std::map<std::string, KindStats>> gated;
  int overlaps = 0;
  for (const std::string& delay : delays) {
    if (!RunGated(delay, rounds, &gated[delay], &overlaps)) return 1;
  }
  Stats amoro;
  if (amoro_rounds > 0) {
    std::printf("\nbaseline: Amoro database HA (ttl %s, heartbeat %s), %d rounds\n",
                amsha::FormatDuration(ttl).c_str(), amsha::FormatDuration(heartbeat).c_str(),
                amoro_rounds);
    std::fflush(stdout);
    if (!RunAmoro(amoro_rounds, ttl, heartbeat, &amoro)) return 1;
  }
  std::printf("\n%-12s %-6s %4s  %-32s  %-32s\n", "failure", "start", "n",
              "client reaches serving AMS again", "Service switched");
  std::printf("%-12s %-6s %4s  %15s %16s  %15s %16s\n", "", "delay", "", "p50", "max", "p50",
              "max");
  for (const std::string& delay : delays) {
    for (const char* kind : kKinds) {
      const KindStats& k = gated[delay][kind];
      std::string switched_p50 = k.switched.ms.empty() ? "-" : "";
      std::printf("%-12s %-6s %4zu  %12.1f ms %13.1f ms", kind, delay.c_str(), k.serving.ms.size(),
                  k.serving.Pct(50), k.serving.Max());
      if (k.switched.ms.empty()) {
        std::printf("  %15s %16s\n", "-", "-");
      } else {
        std::printf("  %12.1f ms %13.1f ms\n", k.switched.Pct(50), k.switched.Max());
      }
    }
  }
  if (amoro_rounds > 0) {
    for (const std::string& delay : delays) {
      double d = static_cast<double>(amsha::ParseDuration(delay)->count());
      Stats serving;
      for (double ms : amoro.ms) serving.ms.push_back(ms + d);
      std::printf("%-12s %-6s %4zu  %12.1f ms %13.1f ms  %15s %16s\n", "amoro-db-ha", delay.c_str(),
                  serving.ms.size(), serving.Pct(50), serving.Max(), "-", "-");
    }
    std::printf(
        "(amoro-db-ha: leader death -> another node holds the lease, measured, + the AMS model's "
        "port-open delay)\n");
  }
  std::printf("two AMS at once in the journals: %s\n", overlaps == 0 ? "never" : "YES");
  std::fflush(stdout);
  if (plain_rounds > 0) {
    Stats deleted, notready, probe, gap, takeover;
    std::printf("\nthe controller alone (always-on fake AMS, e2e harness timing), %d rounds\n",
                plain_rounds);
    if (!RunController(plain_rounds, &deleted, &notready, &probe, &gap, &takeover)) return 1;
    Print("leader deleted -> Service switched", deleted);
    Print("leader NotReady -> Service switched", notready);
    Print("leader unreachable -> switched", probe);
    Print("client gap through ams-leader", gap);
    Print("active controller SIGKILL -> standby", takeover);
  }
  return overlaps == 0 ? 0 : 1;
}
