// ScaleFleet: many AMS clusters on one controller installation, for
// scale_bench and the scale e2e test. The controller is a black box: a
// process, its config file, PostgreSQL and the Kubernetes API stand-in.
//
//   PostgreSQL (PostgresServer; PostgreSQL's DEFAULT settings unless told
//   otherwise: max_connections 100) + the stand-in (StandinProcess) + N
//   clusters "c0000".."c<N-1>", each with 3 Ready pods labelled
//   app=amoro,ams-cluster=<name> (pod IPs 127.100.y.z, one per pod; nothing
//   listens there: the probe is off) and a Service "ams-leader-<name>" +
//   controller replicas `ams-ha-controller run` configured with all N
//   clusters and the shipped timing (nothing but the probe switched off).
//
// Observation: each replica connects to PostgreSQL with PGAPPNAME
// "ams-ha-ctl-<i>" (libpq's application_name, which overrides the
// controller's fallback_application_name), so pg_stat_activity tells the
// replicas apart; all database monitoring runs as the superuser on the
// database `postgres`, so none of it is counted in `amsha`'s
// pg_stat_database. API request counts and every Service selector change
// (with CLOCK_MONOTONIC time stamps) come from the stand-in's admin API.
// The controller binary is this build's, or $AMS_HA_CONTROLLER_BIN.
// Not thread-safe, except ConnectionSampler (its own session and thread).
#ifndef AMS_HA_TESTS_SUPPORT_SCALE_FLEET_H_
#define AMS_HA_TESTS_SUPPORT_SCALE_FLEET_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/postgres_server.h"
#include "support/sql_session.h"
#include "support/standin_process.h"

namespace amsha::testing {

struct ScaleOptions {
  int clusters = 1;
  int pods_per_cluster = 3;
  // PostgreSQL's defaults (max_connections 100, fsync on); false: the test
  // settings of pgtmp (max_connections 200, fsync off).
  bool postgres_default_settings = true;
  // Extra lines under `controller:` and `database:` (each "  key: value\n"),
  // e.g. the shorter controller lease of the e2e test, or knobs such as
  // `workers` / `maxConnections` when the controller knows them.
  std::string controller_yaml;
  std::string database_yaml;
};

// One process's figures from /proc.
struct ProcSample {
  bool ok = false;
  int threads = 0;
  int64_t rss_kb = 0;
  int64_t cpu_ticks = 0;  // utime + stime, in sysconf(_SC_CLK_TCK) units
};
ProcSample ReadProc(pid_t pid);
double CpuTicksPerSecond();

// API requests the stand-in answered since it started.
struct RequestCounts {
  std::map<std::string, int64_t> by_verb;           // "get", "list", "watch", "patch", ...
  std::map<std::string, int64_t> by_verb_resource;  // "get services", ...
  int64_t Reads() const { return Of("get") + Of("list"); }
  int64_t Watches() const { return Of("watch"); }
  int64_t Writes() const {
    return Of("create") + Of("update") + Of("patch") + Of("delete") + Of("deletecollection");
  }
  int64_t Of(const std::string& verb) const {
    auto it = by_verb.find(verb);
    return it == by_verb.end() ? 0 : it->second;
  }
  RequestCounts Minus(const RequestCounts& earlier) const;
  // "get services 12, list pods 1" (non-zero entries).
  std::string Describe() const;
};

// Samples pg_stat_activity every `period` on its own session and thread:
// connections to `amsha` by application_name, now and the peak since
// ResetPeaks().
class ConnectionSampler {
 public:
  ConnectionSampler(std::string admin_conninfo, std::chrono::milliseconds period);
  ~ConnectionSampler();
  std::map<std::string, int> Now();
  std::map<std::string, int> Peaks();
  void ResetPeaks();

 private:
  void Run();
  std::string conninfo_;
  std::chrono::milliseconds period_;
  std::mutex mu_;
  std::map<std::string, int> now_;
  std::map<std::string, int> peaks_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ScaleFleet {
 public:
  explicit ScaleFleet(ScaleOptions options);
  ~ScaleFleet();

  // PostgreSQL, the stand-in, the schema, the Services, the pods and the
  // config file; no controller yet.
  Status Start();
  // Starts replica i ("ctl-<i>"); remembers when (CLOCK_MONOTONIC ns).
  Status StartController(int i);
  void KillController(int i, int signal);
  ChildProcess* controller(int i);
  int64_t controller_started_ns(int i) const;
  static std::string AppName(int i) { return "ams-ha-ctl-" + std::to_string(i); }

  static std::string ClusterName(int c);
  static std::string ServiceName(int c) { return "ams-leader-" + ClusterName(c); }
  static std::string PodName(int c, int i) { return ClusterName(c) + "-ams-" + std::to_string(i); }
  std::string PodIp(int c, int i) const;
  Status AddPod(int c, int i);

  // --- the database (superuser sessions) ---
  // pg_stat_activity: connections to `amsha` per application_name.
  StatusOr<std::map<std::string, int>> Connections();
  // pg_stat_database.xact_commit of `amsha`.
  StatusOr<int64_t> XactCommit();
  // Per cluster: the AMS row's holder node_id ("" when none or expired by
  // the database clock) and version.
  struct LeaseRow {
    std::string node_id;
    int64_t version = -1;
  };
  StatusOr<std::vector<LeaseRow>> AmsLeases();
  // The pod index a node_id names within cluster c ("<podIP>:<port>:<uid>"),
  // or -1.
  int PodOfNodeId(int c, const std::string& node_id) const;
  // The identity in the unexpired controllers' row, or "".
  std::string ActiveController();
  std::string ConnectionSamplerConninfo() const;

  // --- the stand-in ---
  StatusOr<RequestCounts> Requests();
  // How many clusters' Services select exactly their lease holder's pod, and
  // when the last of those got there (CLOCK_MONOTONIC ns; 0 when none).
  struct Routing {
    int routed = 0;
    int64_t last_switch_ns = 0;
    std::vector<int> unrouted;  // cluster indexes
  };
  StatusOr<Routing> RoutedToLeaders();
  // The pods cluster c's Service selects now.
  StatusOr<std::vector<std::string>> Selected(int c);
  // Waits until cluster c's Service selects exactly one pod; false on timeout.
  bool WaitUntilSelectsOne(int c, std::chrono::milliseconds timeout);
  // Deletes (grace 1 s) the pod cluster c's Service selects and returns the
  // ns from just before the DELETE until the stand-in recorded the Service
  // selecting exactly one other pod; -1 on timeout. Then waits until the
  // old pod is gone and creates it again (a new pod of the same name), so
  // the cluster has its 3 pods for the next round. `why` tells a failure.
  int64_t TimeLeaderDeletion(int c, std::chrono::milliseconds timeout, std::string* why);

  StandinProcess& standin() { return *standin_; }
  PostgresServer& postgres() { return postgres_; }
  const std::string& config_path() const { return config_path_; }
  const ScaleOptions& options() const { return options_; }
  // The controller's config check (`ams-ha-controller check-config`):
  // true when it accepts the file; its output in *out.
  bool ConfigAccepted(std::string* out) const;
  std::string Logs(size_t tail_bytes = 4000);

 private:
  Status WriteConfig();
  StatusOr<SqlSession*> Admin(bool on_amsha);

  ScaleOptions options_;
  std::string dir_;
  std::string config_path_;
  PostgresServer postgres_;
  std::unique_ptr<StandinProcess> standin_;
  std::unique_ptr<SqlSession> admin_postgres_;
  std::unique_ptr<SqlSession> admin_amsha_;
  std::vector<std::unique_ptr<ChildProcess>> controllers_;
  std::vector<int64_t> started_ns_;
};

int64_t MonoNowNs();

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_SCALE_FLEET_H_
