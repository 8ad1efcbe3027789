// E2eCluster: everything an end-to-end test runs, started for real.
//
//   PostgreSQL (PostgresServer) or, with options.engine "mysql", MariaDB
//   (MariaDbServer) + the Kubernetes API stand-in (StandinProcess)
//   + the `ams-leader` Service + N AMS pods, each with a fake-ams process
//   listening on its loopback pod IP's REST port + M controller replicas
//   (`ams-ha-controller run`, separate processes).
//
// Timings are shortened so that tests run in seconds; the defaults keep the
// validation rules (leaseTtl > leaseDuration + retryPeriod + heartbeat).
// Observation helpers read the stand-in's record (the Service selector at
// every instant), the lease row in PostgreSQL, and connect through the
// stand-in's forwarding of the Service like a client would.
// Not thread-safe: one test thread drives it.
#ifndef AMS_HA_TESTS_SUPPORT_E2E_CLUSTER_H_
#define AMS_HA_TESTS_SUPPORT_E2E_CLUSTER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lease/lease_record.h"
#include "lease/sql_lease_store.h"
#include "support/child_process.h"
#include "support/mariadb_server.h"
#include "support/postgres_server.h"
#include "support/standin_process.h"

namespace amsha::testing {

struct E2eOptions {
  int pods = 3;
  int controllers = 2;
  std::string cluster = "prod";
  std::string lease_duration = "3s";
  std::string renew_deadline = "2s";
  std::string retry_period = "500ms";
  std::string lease_ttl = "8s";
  std::string heartbeat_interval = "1s";
  std::string not_ready_grace = "1s";
  bool probe = true;
  std::string probe_period = "300ms";
  std::string probe_timeout = "200ms";
  int probe_failure_threshold = 2;
  // probe.startupGracePeriod; empty: the shipped default (5m).
  std::string probe_startup_grace;
  // The controller's ports.rest (what it probes); 0: the default 1630. A
  // port where AMS does not listen stands for a fault between the
  // controller and the pods (the gates probe their own config's port).
  int controller_rest_port = 0;
  std::string mode = "manage";  // or "follow"
  bool start_ams = true;        // start a fake-ams per pod
  // Extra top-level YAML for the config file (e.g. a `gate:` section).
  std::string extra_yaml;
  // Pod i gets 127.0.0.(pod_ip_base + i): suites that may run at the same
  // time use different bases, so their AMS ports never collide.
  int pod_ip_base = 20;
  // The lease database: "postgres" or "mysql" (a throwaway MariaDB).
  std::string engine = "postgres";

  // The shipped defaults of the controller's timing (controller lease
  // 15s/10s/2s, leaseTtl 30s, heartbeat 10s, notReadyGracePeriod 5s, probe
  // 2s/1s x 3, startupGracePeriod 5m), no controller started yet and no
  // AMS started by the cluster: for runs whose AMS runs under the gate.
  static E2eOptions ShippedTimingUnderTheGate() {
    E2eOptions o;
    o.start_ams = false;
    o.controllers = 0;
    o.lease_duration = "15s";
    o.renew_deadline = "10s";
    o.retry_period = "2s";
    o.lease_ttl = "30s";
    o.heartbeat_interval = "10s";
    o.not_ready_grace = "5s";
    o.probe_period = "2s";
    o.probe_timeout = "1s";
    o.probe_failure_threshold = 3;
    o.probe_startup_grace = "";
    return o;
  }
};

// A pod as the stand-in has it now (PodStates()).
struct E2ePodState {
  std::string uid;
  bool ready = false;
  bool terminating = false;
};

class E2eCluster {
 public:
  explicit E2eCluster(E2eOptions options = {});
  ~E2eCluster();

  // Starts everything; controllers last. Waits until a leader is routed
  // unless `wait_for_leader` is false.
  Status Start(bool wait_for_leader = true);

  // --- pods and their AMS processes ---
  static std::string PodName(int i) { return "ams-" + std::to_string(i); }
  std::string PodIp(int i) const { return "127.0.0." + std::to_string(options_.pod_ip_base + i); }
  Status AddPod(int i, bool ready = true);
  Status StartAms(int i);
  void KillAms(int i);  // the pod stays Ready: like a node that stopped answering
  void SetReady(int i, bool ready);
  void DeletePod(int i, int grace_seconds = 1);

  // --- controllers ---
  Status StartController(int i);
  void KillController(int i, int signal);
  ChildProcess* controller(int i) { return controllers_[i].get(); }
  // The identity named in the controllers' row (unexpired), or "".
  std::string ActiveController();
  // The port of controller i's /metrics, /healthz and /readyz (its config
  // asks for 127.0.0.1:0), read from its "metrics listening
  // address=127.0.0.1:PORT" log line; waits for that line up to `timeout`.
  // 0 when it never came.
  int MetricsPort(int i, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  // --- observation ---
  // The pods the Service selects now, by the stand-in's record.
  std::vector<std::string> Routed();
  // The most pods the Service ever selected at one instant.
  int MaxSelectedEver();
  // The AMS lease row (service "AMS").
  std::optional<LeaseRecord> Lease();
  // The pod named by the unexpired lease, or "".
  std::string LeaseHolderPod();
  // Connects through the stand-in's forwarding of ams-leader's REST port and
  // returns who answered ("" when nobody did).
  std::string AskThroughService();
  // Waits until `pred` holds; false on timeout.
  static bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
  // One pod routed, and it is the lease holder: `status` agrees.
  bool Agrees();
  // Controller logs, for failure messages.
  std::string Logs();
  // Every pod the stand-in has, by name. Reads only the stand-in, so it is
  // safe from any thread (a kubelet stand-in thread, say).
  std::map<std::string, E2ePodState> PodStates() const;

  PostgresServer& postgres() { return postgres_; }
  // --- the lease database, whichever engine options.engine chose ---
  bool mysql() const { return options_.engine == "mysql"; }
  Status StartDatabase();
  Status StopDatabase();
  const std::string& DatabasePassword() const;
  int DatabasePort() const;
  // The controller's URL for the database reached at 127.0.0.1:`port` (the
  // server's own port, or a relay's).
  std::string DatabaseUrlAt(int port) const;
  // The server's own URL (user `ams`, DatabasePassword()), and its
  // superuser's (PostgreSQL: postgres over the socket; MySQL: root over
  // the socket; no password), for OpenSqlClient().
  std::string DatabaseUrl() const { return DatabaseUrlAt(DatabasePort()); }
  const std::string& DatabaseAdminUrl() const;
  LeaseDatabaseOptions StoreOptions() const;
  StatusOr<std::unique_ptr<SqlLeaseStore>> OpenStore() const;
  StandinProcess& standin() { return *standin_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& dir() const { return dir_; }
  const E2eOptions& options() const { return options_; }
  std::string ControllerBinary() const;
  // Runs `ams-ha-controller <command> --config <this cluster's config>
  // <args>` with the database password, as an operator would; returns the
  // exit code and, in *output, what it printed.
  int RunCli(const std::string& command, const std::string& args, std::string* output) const;

 private:
  std::string PodUidToName(const std::string& uid);
  Status DeadlineExceededStatus();
  Status CreateService();
  Status WriteConfig();

  E2eOptions options_;
  std::string dir_;
  std::string config_path_;
  PostgresServer postgres_;
  MariaDbServer maria_;
  std::unique_ptr<StandinProcess> standin_;
  std::vector<std::unique_ptr<ChildProcess>> ams_;
  std::vector<std::unique_ptr<ChildProcess>> controllers_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_E2E_CLUSTER_H_
