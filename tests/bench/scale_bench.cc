// scale_bench: what one controller installation costs as the number of AMS
// clusters grows (issue 15), measured on real processes.
//
//   scale_bench [--clusters 1,10,100,1000] [--steady-seconds 30]
//               [--settle-seconds 10] [--failovers 10] [--route-timeout 60]
//               [--timeout-per-n 300] [--postgres-default-settings true]
//               [--sigkill true] [--workers W] [--db-max-connections M]
//
// For each N, a fresh ScaleFleet (tests/support/scale_fleet.h): PostgreSQL
// with its DEFAULT settings (max_connections 100), the API stand-in, N
// clusters of 3 Ready pods, N leader Services, and ONE controller process
// with all N clusters, the shipped timing and the probe off. Columns:
//   conns       connections of the active replica in pg_stat_activity
//               (application_name), peak since its start / at the end of
//               the steady window; then the standby's, once it runs
//   xact/s      pg_stat_database.xact_commit of `amsha` over the steady
//               window (the monitoring runs on database `postgres`, so none
//               of its own statements are in it)
//   API/s       requests the stand-in answered over the steady window, by
//               verb: get+list, watch, writes (create/update/patch/delete)
//   threads, RSS, CPU   /proc/<pid> of the active replica at the end of the
//               window; CPU: utime+stime over the window, % of one core
//   routed      from the controller's start until every Service selects
//               exactly its cluster's lease holder (the stand-in's record of
//               selector changes, CLOCK_MONOTONIC)
//   failover    `--failovers` times, one at a time while all N run: delete
//               (grace 1 s) the pod a cluster's Service selects; from just
//               before the DELETE until the stand-in recorded the Service
//               selecting exactly one other pod; p50 / p99 (the pod is
//               created again afterwards)
//   kill        a standby replica is started, the active one SIGKILLed;
//               once the standby holds the controllers' row and renewed
//               every cluster's AMS lease (or 40 s passed): how many
//               clusters' AMS holder is another pod (expected 0) and, in
//               parentheses, how many have no unexpired holder left; and the
//               standby's connections while idle and its peak during the
//               takeover
// `--workers` / `--db-max-connections` write controller.workers /
// database.maxConnections into the config (only for a controller that
// knows them: check-config must accept the file, or the row says why not).
// A phase that does not complete ends the row with what happened.
// AMS_HA_CONTROLLER_BIN=<path> measures another build's controller.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>

#include "support/scale_fleet.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Flags {
  std::vector<int> clusters = {1, 10, 100, 1000};
  int steady_seconds = 30;
  int settle_seconds = 10;
  int failovers = 10;
  int route_timeout = 60;
  int timeout_per_n = 300;
  bool default_settings = true;
  bool sigkill = true;
  int workers = 0;
  int db_max_connections = 0;
};

struct Row {
  int n = 0;
  int conn_peak = -1, conn_steady = -1, standby_conn = -1, takeover_peak = -1;
  double xact_per_s = -1;
  double reads_per_s = -1, watches_per_s = -1, writes_per_s = -1;
  std::string requests;  // by verb and resource over the window
  int threads = -1;
  double rss_mib = -1, cpu_pct = -1;
  double routed_s = -1;
  int routed = 0;
  std::vector<double> failover_ms;
  int failover_failed = 0;
  int moved = -1;    // AMS holder is another pod after the takeover
  int expired = -1;  // no unexpired holder after the takeover
  std::vector<std::string> notes;
};

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()));
  return v[i];
}

std::string Num(double v, const char* fmt = "%.1f") {
  if (v < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

std::string Int(int v) { return v < 0 ? "-" : std::to_string(v); }

void Progress(int n, const std::string& what) {
  std::fprintf(stderr, "[N=%d] %s\n", n, what.c_str());
}

// The first line of the active replica's log that names the likely cause.
std::string LogCause(const std::string& log) {
  for (const char* needle : {"too many clients", "remaining connection slots", "error"}) {
    size_t at = log.find(needle);
    if (at == std::string::npos) continue;
    size_t start = log.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    std::string line = log.substr(start, log.find('\n', at) - start);
    // The needle and what precedes it (the cluster), within 200 characters.
    size_t in_line = at - start;
    if (line.size() > 200) {
      size_t from = in_line > 120 ? in_line - 120 : 0;
      line = (from > 0 ? "..." : "") + line.substr(from, 200) + "...";
    }
    return line;
  }
  return "";
}

int CountOf(const std::map<std::string, int>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

Row RunOne(int n, const Flags& flags) {
  Row row;
  row.n = n;
  const auto deadline = std::chrono::steady_clock::now() + seconds(flags.timeout_per_n);
  auto left = [&] {
    return std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  };
  ScaleOptions options;
  options.clusters = n;
  options.postgres_default_settings = flags.default_settings;
  if (flags.workers > 0)
    options.controller_yaml = "  workers: " + std::to_string(flags.workers) + "\n";
  if (flags.db_max_connections > 0) {
    options.database_yaml = "  maxConnections: " + std::to_string(flags.db_max_connections) + "\n";
  }
  ScaleFleet fleet(options);
  Progress(n, "starting PostgreSQL, the stand-in, " + std::to_string(n) + " Services and " +
                  std::to_string(3 * n) + " pods");
  Status s = fleet.Start();
  if (!s.ok()) {
    row.notes.push_back("set-up failed: " + s.ToString());
    return row;
  }
  std::string check;
  if (!fleet.ConfigAccepted(&check)) {
    row.notes.push_back("check-config rejects the config: " + check.substr(0, 200));
    return row;
  }
  ConnectionSampler sampler(fleet.ConnectionSamplerConninfo(), milliseconds(200));
  const std::string app0 = ScaleFleet::AppName(0), app1 = ScaleFleet::AppName(1);

  // --- routing from the start ---
  Progress(n, "starting the controller");
  s = fleet.StartController(0);
  if (!s.ok()) {
    row.notes.push_back("controller did not start: " + s.ToString());
    return row;
  }
  const auto route_until = std::chrono::steady_clock::now() +
                           std::min(milliseconds(seconds(flags.route_timeout)), left());
  ScaleFleet::Routing routing;
  while (std::chrono::steady_clock::now() < route_until && fleet.controller(0)->Running()) {
    auto r = fleet.RoutedToLeaders();
    if (r.ok()) routing = *r;
    if (routing.routed == n) break;
    std::this_thread::sleep_for(milliseconds(n >= 500 ? 1000 : 250));
  }
  row.routed = routing.routed;
  if (!fleet.controller(0)->Running()) {
    row.notes.push_back("the controller exited: " + LogCause(fleet.controller(0)->Log()));
    return row;
  }
  if (routing.routed == n) {
    row.routed_s = (routing.last_switch_ns - fleet.controller_started_ns(0)) / 1e9;
  } else {
    std::string cause = LogCause(fleet.controller(0)->Log());
    row.notes.push_back("routed " + std::to_string(routing.routed) + "/" + std::to_string(n) +
                        " after " + std::to_string(flags.route_timeout) + " s" +
                        (cause.empty() ? "" : "; log: " + cause));
  }
  Progress(n, "routed " + std::to_string(routing.routed) + "/" + std::to_string(n));

  // --- steady state ---
  std::this_thread::sleep_for(std::min(milliseconds(seconds(flags.settle_seconds)), left()));
  pid_t pid = fleet.controller(0)->pid();
  auto x0 = fleet.XactCommit();
  auto q0 = fleet.Requests();
  ProcSample p0 = ReadProc(pid);
  const int64_t w0 = MonoNowNs();
  Progress(n, "steady window of " + std::to_string(flags.steady_seconds) + " s");
  std::this_thread::sleep_for(std::min(milliseconds(seconds(flags.steady_seconds)), left()));
  auto x1 = fleet.XactCommit();
  auto q1 = fleet.Requests();
  ProcSample p1 = ReadProc(pid);
  const double window = (MonoNowNs() - w0) / 1e9;
  if (x0.ok() && x1.ok()) row.xact_per_s = (*x1 - *x0) / window;
  if (q0.ok() && q1.ok()) {
    RequestCounts d = q1->Minus(*q0);
    row.reads_per_s = d.Reads() / window;
    row.watches_per_s = d.Watches() / window;
    row.writes_per_s = d.Writes() / window;
    row.requests = d.Describe();
  }
  if (p0.ok && p1.ok) {
    row.threads = p1.threads;
    row.rss_mib = p1.rss_kb / 1024.0;
    row.cpu_pct = 100.0 * (p1.cpu_ticks - p0.cpu_ticks) / CpuTicksPerSecond() / window;
  }
  row.conn_steady = CountOf(sampler.Now(), app0);
  row.conn_peak = CountOf(sampler.Peaks(), app0);
  if (left().count() <= 0) {
    row.notes.push_back("per-N timeout during the steady window");
    return row;
  }

  // --- failovers under load ---
  if (flags.failovers > 0 && routing.routed > 0) {
    Progress(n, std::to_string(flags.failovers) + " leader deletions, one at a time");
    for (int j = 0; j < flags.failovers && left().count() > 0; ++j) {
      int c = n >= flags.failovers ? static_cast<int>(static_cast<int64_t>(j) * n / flags.failovers)
                                   : j % n;
      // A Service that never got routed (today's controller short of
      // connections) has nothing to fail over: take the next routed one.
      std::vector<int>& un = routing.unrouted;
      for (int tries = 0; tries < n && std::find(un.begin(), un.end(), c) != un.end(); ++tries) {
        c = (c + 1) % n;
      }
      // The previous round's cluster may still be re-routing its pods.
      fleet.WaitUntilSelectsOne(c, milliseconds(10000));
      std::string why;
      int64_t ns = fleet.TimeLeaderDeletion(c, milliseconds(30000), &why);
      if (ns < 0) {
        ++row.failover_failed;
        if (row.failover_failed == 1) row.notes.push_back("failover: " + why);
      } else {
        row.failover_ms.push_back(ns / 1e6);
      }
    }
  }

  // --- SIGKILL of the active replica ---
  if (flags.sigkill && left().count() > 0) {
    Progress(n, "standby, then SIGKILL of the active replica");
    s = fleet.StartController(1);
    // The standby settles (connects, finds the controllers' row held).
    std::this_thread::sleep_for(std::min(milliseconds(5000), left()));
    row.standby_conn = CountOf(sampler.Now(), app1);
    auto before = fleet.AmsLeases();
    if (!s.ok() || !before.ok()) {
      row.notes.push_back("standby: " + (s.ok() ? before.status().ToString() : s.ToString()));
      return row;
    }
    sampler.ResetPeaks();
    fleet.KillController(0, SIGKILL);
    bool active = false;
    while (!active && left().count() > 0) {
      active = fleet.ActiveController() == "ctl-1";
      if (!active) std::this_thread::sleep_for(milliseconds(200));
    }
    if (!active) {
      row.notes.push_back("the standby never took over");
      return row;
    }
    // Every held lease renewed by the new active replica.
    auto taken = fleet.AmsLeases();
    std::vector<ScaleFleet::LeaseRow> after;
    const auto renew_until =
        std::chrono::steady_clock::now() + std::min(milliseconds(40000), left());
    bool renewed = false;
    while (!renewed && taken.ok() && std::chrono::steady_clock::now() < renew_until) {
      auto now = fleet.AmsLeases();
      if (now.ok()) {
        after = *now;
        renewed = true;
        for (int c = 0; c < n; ++c) {
          if (!(*before)[c].node_id.empty() && after[c].version <= (*taken)[c].version) {
            renewed = false;
          }
        }
      }
      if (!renewed) std::this_thread::sleep_for(milliseconds(500));
    }
    if (!renewed) row.notes.push_back("not every lease renewed after the takeover");
    row.moved = row.expired = 0;
    for (int c = 0; c < n && !after.empty(); ++c) {
      if ((*before)[c].node_id.empty() || after[c].node_id == (*before)[c].node_id) continue;
      ++(after[c].node_id.empty() ? row.expired : row.moved);
    }
    row.takeover_peak = CountOf(sampler.Peaks(), app1);
  }
  return row;
}

void PrintTable(const std::vector<Row>& rows, const Flags& flags) {
  std::printf(
      "\nscale_bench: one controller, N clusters x 3 pods, probe off, shipped timing, "
      "PostgreSQL %s; steady window %d s after %d s settling; %d failovers per N\n\n",
      flags.default_settings ? "with default settings (max_connections 100)"
                             : "with test settings (max_connections 200, fsync off)",
      flags.steady_seconds, flags.settle_seconds, flags.failovers);
  std::printf(
      "| N | DB conns active peak/steady | standby conns idle / takeover peak | xact/s | API "
      "get+list/s | watch/s | writes/s | threads | RSS MiB | CPU %% | all routed (s) | failover "
      "p50/p99 ms (n) | SIGKILL: AMS leaders moved (+ expired) | notes |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::string notes;
    for (const auto& note : r.notes) notes += (notes.empty() ? "" : "; ") + note;
    std::string failover = r.failover_ms.empty()
                               ? "-"
                               : Num(Pct(r.failover_ms, 50)) + " / " + Num(Pct(r.failover_ms, 99)) +
                                     " (" + std::to_string(r.failover_ms.size()) + ")";
    if (r.failover_failed > 0) failover += ", " + std::to_string(r.failover_failed) + " failed";
    std::printf(
        "| %d | %s / %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.n,
        Int(r.conn_peak).c_str(), Int(r.conn_steady).c_str(), Int(r.standby_conn).c_str(),
        Int(r.takeover_peak).c_str(), Num(r.xact_per_s).c_str(), Num(r.reads_per_s).c_str(),
        Num(r.watches_per_s, "%.2f").c_str(), Num(r.writes_per_s, "%.2f").c_str(),
        Int(r.threads).c_str(), Num(r.rss_mib).c_str(), Num(r.cpu_pct, "%.2f").c_str(),
        Num(r.routed_s, "%.2f").c_str(), failover.c_str(),
        (Int(r.moved) + (r.expired > 0 ? " (+" + std::to_string(r.expired) + ")" : "")).c_str(),
        notes.empty() ? "" : notes.c_str());
  }
  std::printf("\nAPI requests over the steady window, by verb and resource:\n");
  for (const Row& r : rows) std::printf("  N=%d: %s\n", r.n, r.requests.c_str());
  std::fflush(stdout);
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", flag.c_str());
      return false;
    }
    std::string value = argv[i + 1];
    if (flag == "--clusters") {
      f->clusters.clear();
      std::istringstream in(value);
      std::string part;
      while (std::getline(in, part, ',')) f->clusters.push_back(std::stoi(part));
    } else if (flag == "--steady-seconds") {
      f->steady_seconds = std::stoi(value);
    } else if (flag == "--settle-seconds") {
      f->settle_seconds = std::stoi(value);
    } else if (flag == "--failovers") {
      f->failovers = std::stoi(value);
    } else if (flag == "--route-timeout") {
      f->route_timeout = std::stoi(value);
    } else if (flag == "--timeout-per-n") {
      f->timeout_per_n = std::stoi(value);
    } else if (flag == "--postgres-default-settings") {
      f->default_settings = value == "true";
    } else if (flag == "--sigkill") {
      f->sigkill = value == "true";
    } else if (flag == "--workers") {
      f->workers = std::stoi(value);
    } else if (flag == "--db-max-connections") {
      f->db_max_connections = std::stoi(value);
    } else {
      std::fprintf(stderr, "unknown flag %s (see the comment at the top of scale_bench.cc)\n",
                   flag.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace amsha::testing

int main(int argc, char** argv) {
  using namespace amsha::testing;
  Flags flags;
  try {
    if (!ParseFlags(argc, argv, &flags)) return 2;
  } catch (const std::exception&) {
    std::fprintf(stderr, "a flag value is not a number\n");
    return 2;
  }
  std::vector<Row> rows;
  for (int n : flags.clusters) {
    rows.push_back(RunOne(n, flags));
    PrintTable(rows, flags);  // after each N, so a later one cannot lose the earlier figures
  }
  return 0;
}
