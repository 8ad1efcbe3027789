// gate_bench: how long AMS is down in a failover when every AMS pod runs
// under the gate: from the old AMS process stopping to the next one
// starting, measured from the fake-ams journal (CLOCK_MONOTONIC, shared by
// every process of the machine), over real processes: PostgreSQL, the API
// stand-in, two controller replicas, three gated pods (GatedPods).
//
//   gate_bench [--rounds 24] [--poll-rounds 12] [--mysql-rounds 12] [--crashes 10]
//
// Failovers alternate between a switchover (planned) and the leader going
// NotReady (unplanned; notReadyGracePeriod 1s). Reported per round:
//   gap       old AMS "stop" -> new AMS "start" (the AMS outage itself)
//   total     the trigger (CLI call / readiness flip) -> new AMS "start"
// Part 1 runs with LISTEN/NOTIFY (the default), part 2 with gate.listen:
// false, where a gate learns of the change by polling (pollInterval 1s).
// Part 3 runs the same on MariaDB (database.url mysql://), where the gates
// always poll (no LISTEN/NOTIFY in MySQL).
// Part 4 crashes the leader pod (SIGKILL to its gate, fence and AMS at
// once; the pod stays Ready in the API) with the shipped defaults of the
// controller and the gate, and reports crash -> successor's AMS start, with
// an AMS that opens its port at once and with one that takes 8 s (a JVM;
// crashes 21 s after the election there, see the output).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>
#include <thread>

#include "common/duration.h"
#include "support/ams_journal.h"
#include "support/e2e_cluster.h"
#include "support/gated_pods.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
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

void Print(const std::string& name, const Stats& s) {
  std::printf("%-40s n=%-3zu p50=%8.1f ms  p95=%8.1f ms  p99=%8.1f ms  max=%8.1f ms\n",
              name.c_str(), s.ms.size(), s.Pct(50), s.Pct(95), s.Pct(99), s.Max());
  std::fflush(stdout);
}

int IndexOf(const std::string& pod) { return std::stoi(pod.substr(pod.find('-') + 1)); }

struct Result {
  Stats gap_switchover, gap_notready, gap_all, total_switchover, total_notready;
};

// Both controllers agree, and the elected pod, and only it, runs AMS.
bool Settled(E2eCluster& cluster, GatedPods& pods, const std::string& leader) {
  return !leader.empty() && cluster.Agrees() &&
         pods.Journal().Active() == std::vector<std::string>{leader};
}

// Starts the gated pods and two controllers on `cluster` (whose own start
// returned `started`) and waits up to `timeout` until it is Settled; prints
// why and the pods' logs when not.
bool StartSettled(E2eCluster& cluster, Status started, GatedPods& pods,
                  std::chrono::milliseconds timeout) {
  Status s = started;
  if (s.ok()) s = pods.Start();
  for (int i = 0; s.ok() && i < 2; ++i) s = cluster.StartController(i);
  if (s.ok() && !E2eCluster::WaitUntil(
                    [&] { return Settled(cluster, pods, cluster.LeaseHolderPod()); }, timeout)) {
    s = InternalError("no leader runs AMS");
  }
  if (!s.ok()) {
    std::fprintf(stderr, "cannot start: %s\n%s", s.ToString().c_str(), pods.Logs().c_str());
    return false;
  }
  return true;
}

bool Run(bool listen, int rounds, Result* out, const std::string& engine = "postgres") {
  E2eOptions options;
  options.engine = engine;
  options.start_ams = false;
  options.controllers = 0;
  options.probe_startup_grace = "";  // the shipped default
  options.pod_ip_base = 60;
  E2eCluster cluster(options);
  Status s = cluster.Start(false);
  GatedPodsOptions gate_options;
  gate_options.listen = listen;
  GatedPods pods(&cluster, gate_options);
  auto settled = [&](const std::string& leader) { return Settled(cluster, pods, leader); };
  if (!StartSettled(cluster, s, pods, seconds(20))) return false;
  for (int round = 0; round < rounds; ++round) {
    const bool switchover = round % 2 == 0;
    const std::string old = cluster.LeaseHolderPod();
    const size_t before = pods.Journal().intervals().size();
    const int64_t t0 = MonoNs();
    if (switchover) {
      std::string target = E2eCluster::PodName((IndexOf(old) + 1) % 3);
      std::string output;
      int code =
          cluster.RunCli("switchover", "--cluster prod --to " + target + " --timeout 10s", &output);
      if (code != 0) {
        std::fprintf(stderr, "round %d: switchover failed: %s\n", round, output.c_str());
        return false;
      }
    } else {
      pods.ForceNotReady(IndexOf(old), true);
    }
    std::string next;
    bool moved = E2eCluster::WaitUntil(
        [&] {
          next = cluster.LeaseHolderPod();
          return next != old && settled(next) && pods.Journal().intervals().size() > before;
        },
        seconds(20));
    if (!moved) {
      std::fprintf(stderr, "round %d: no failover from %s\n%s%s", round, old.c_str(),
                   cluster.Logs().c_str(), pods.Logs().c_str());
      return false;
    }
    AmsJournal journal = pods.Journal();
    const AmsInterval& started = journal.intervals().back();
    std::optional<int64_t> stopped;
    for (const AmsInterval& i : journal.intervals()) {
      if (i.pod == old && i.stop_ns && *i.stop_ns <= started.start_ns) stopped = i.stop_ns;
    }
    if (started.pod != next || !stopped) {
      std::fprintf(stderr, "round %d: unexpected journal\n", round);
      return false;
    }
    double gap = (started.start_ns - *stopped) / 1e6;
    double total = (started.start_ns - t0) / 1e6;
    (switchover ? out->gap_switchover : out->gap_notready).ms.push_back(gap);
    (switchover ? out->total_switchover : out->total_notready).ms.push_back(total);
    out->gap_all.ms.push_back(gap);
    std::printf("  round %2d %-10s %s -> %s  gap %7.1f ms  total %7.1f ms\n", round + 1,
                switchover ? "switchover" : "not-ready", old.c_str(), next.c_str(), gap, total);
    std::fflush(stdout);
    if (!switchover) {
      pods.ForceNotReady(IndexOf(old), false);
      E2eCluster::WaitUntil([&] { return cluster.PodStates()[old].ready; }, seconds(10));
    }
  }
  AmsJournal journal = pods.Journal();
  if (!journal.FirstOverlap().empty() || cluster.MaxSelectedEver() > 1) {
    std::fprintf(stderr, "SAFETY VIOLATION: %s (max selected %d)\n", journal.FirstOverlap().c_str(),
                 cluster.MaxSelectedEver());
    return false;
  }
  return true;
}

// Leader crashes with the shipped defaults (README "Configuration
// reference"): controller leaseDuration 15s / renewDeadline 10s / retry 2s,
// leaseTtl 30s, heartbeat 10s, notReadyGracePeriod 5s, probe 2s x 3;
// gate stopGracePeriod 30s, pollInterval 2s, rowTtl 8s, renewInterval 1s,
// safetyMargin 1s.
bool RunCrashes(int crashes, const std::string& start_delay, Stats* out) {
  E2eOptions options = E2eOptions::ShippedTimingUnderTheGate();
  // Pod IPs of its own, picked per process (127.0.0.30-58): failover_bench
  // (70) and other runs on a shared machine would answer this run's probes.
  options.pod_ip_base = 30 + 3 * (::getpid() % 9);
  E2eCluster cluster(options);
  Status s = cluster.Start(false);
  GatedPodsOptions gate_options;
  gate_options.stop_grace = "30s";
  gate_options.poll_interval = "2s";
  gate_options.ams_args = {"--start-delay", start_delay, "--stop-delay", "1.5s"};
  GatedPods pods(&cluster, gate_options);
  auto settled = [&](const std::string& leader) { return Settled(cluster, pods, leader); };
  if (!StartSettled(cluster, s, pods, seconds(40))) return false;
  for (int round = 0; round < crashes; ++round) {
    const std::string old = cluster.LeaseHolderPod();
    // Let it serve (and its row be renewed) for a moment.
    const auto elected = std::chrono::steady_clock::now();
    E2eCluster::WaitUntil([&] { return cluster.AskThroughService() == old; }, seconds(20));
    std::this_thread::sleep_for(milliseconds(1500));
    if (start_delay != "0s") std::this_thread::sleep_until(elected + seconds(21));
    const size_t before = pods.Journal().intervals().size();
    const int64_t t0 = MonoNs();
    if (!pods.CrashPod(IndexOf(old)).ok()) return false;
    std::string next;
    bool moved = E2eCluster::WaitUntil(
        [&] {
          next = cluster.LeaseHolderPod();
          return next != old && settled(next) && pods.Journal().intervals().size() > before;
        },
        seconds(60));
    if (!moved) {
      std::fprintf(stderr, "crash %d: no failover from %s\n%s%s", round, old.c_str(),
                   cluster.Logs().c_str(), pods.Logs().c_str());
      return false;
    }
    AmsJournal journal = pods.Journal();
    std::optional<int64_t> started;
    for (const AmsInterval& i : journal.intervals()) {
      if (i.pod == next && i.start_ns > t0) started = i.start_ns;
    }
    if (!started) return false;
    double ms = (*started - t0) / 1e6;
    out->ms.push_back(ms);
    std::printf("  crash %2d %s -> %s  successor's AMS started after %7.1f ms\n", round + 1,
                old.c_str(), next.c_str(), ms);
    std::fflush(stdout);
    pods.RecoverPod(IndexOf(old));  // its node is back: the kubelet restarts the gate
    E2eCluster::WaitUntil([&] { return cluster.PodStates()[old].ready; }, seconds(20));
  }
  AmsJournal journal = pods.Journal();
  if (!journal.FirstOverlap().empty() || cluster.MaxSelectedEver() > 1) {
    std::fprintf(stderr, "SAFETY VIOLATION: %s (max selected %d)\n", journal.FirstOverlap().c_str(),
                 cluster.MaxSelectedEver());
    return false;
  }
  return true;
}

}  // namespace
}  // namespace amsha::testing

int main(int argc, char** argv) {
  using namespace amsha::testing;
  int rounds = 24, poll_rounds = 12, mysql_rounds = 12, crashes = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--rounds") rounds = std::stoi(value);
    if (flag == "--poll-rounds") poll_rounds = std::stoi(value);
    if (flag == "--mysql-rounds") mysql_rounds = std::stoi(value);
    if (flag == "--crashes") crashes = std::stoi(value);
  }
  std::printf("gate benchmark: AMS outage per failover, %d failovers with LISTEN/NOTIFY\n", rounds);
  Result notify;
  if (rounds > 0 && !Run(true, rounds, &notify)) return 1;
  Result poll;
  if (poll_rounds > 0) {
    std::printf("\n%d failovers with gate.listen: false (pollInterval 1s)\n", poll_rounds);
    if (!Run(false, poll_rounds, &poll)) return 1;
  }
  Result mysql;
  if (mysql_rounds > 0) {
    std::printf("\n%d failovers on MariaDB (no LISTEN/NOTIFY: polling, pollInterval 1s)\n",
                mysql_rounds);
    if (!Run(false, mysql_rounds, &mysql, "mysql")) return 1;
  }
  if (rounds > 0) {
    std::printf("\nAMS stop -> next AMS start (journal, CLOCK_MONOTONIC)\n");
    Print("notify: all failovers", notify.gap_all);
    Print("notify: switchover", notify.gap_switchover);
    Print("notify: leader NotReady", notify.gap_notready);
    if (poll_rounds > 0) {
      Print("polling: all failovers", poll.gap_all);
    }
    if (mysql_rounds > 0) Print("MariaDB (polling): all failovers", mysql.gap_all);
    std::printf("\ntrigger -> next AMS start\n");
    Print("notify: switchover (CLI call)", notify.total_switchover);
    Print("notify: NotReady (grace 1s)", notify.total_notready);
    if (poll_rounds > 0) {
      Print("polling: switchover (CLI call)", poll.total_switchover);
      Print("polling: NotReady (grace 1s)", poll.total_notready);
    }
    if (mysql_rounds > 0) {
      Print("MariaDB: switchover (CLI call)", mysql.total_switchover);
      Print("MariaDB: NotReady (grace 1s)", mysql.total_notready);
    }
  }
  Stats crash_now, crash_jvm;
  if (crashes > 0) {
    std::printf(
        "\n%d leader crashes (SIGKILL of the pod's gate, fence, AMS), shipped defaults, "
        "AMS serving at once\n",
        crashes);
    if (!RunCrashes(crashes, "0s", &crash_now)) return 1;
    std::printf(
        "\n%d leader crashes, AMS opening its port 8s after it started "
        "(shipped defaults; crashes 21 s after the election)\n",
        crashes);
    if (!RunCrashes(crashes, "8s", &crash_jvm)) return 1;
    std::printf("\ncrash -> successor's AMS started (journal; gate.rowTtl 8s)\n");
    Print("crash: AMS start delay 0s", crash_now);
    Print("crash: AMS start delay 8s", crash_jvm);
  }
  std::printf("\nno two AMS were ever active at once; the Service never selected two pods\n");
  return 0;
}
