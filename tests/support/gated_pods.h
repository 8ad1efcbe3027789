// GatedPods: the AMS side of an E2eCluster as Kubernetes would run it with
// the gate: in each pod, `ams-ha-controller gate ... -- fake-ams ...`, and a
// small kubelet stand-in that
//   - mirrors each gate's /readyz into the pod's Ready condition (there is
//     no real kubelet; readiness comes from the gate, as the chart's
//     readinessProbe would take it: timeout 1s, NotReady after 3 failures in
//     a row, Ready after 1 success), unless the test forces a pod NotReady;
//   - sends SIGTERM to the gate of a pod being deleted, SIGKILL once the pod
//     is gone, and restarts a gate that exited (restartPolicy: Always);
// plus one TcpRelay per pod between its gate and PostgreSQL, so that a test
// can partition a single pod from the database. Every fake-ams appends to
// one journal (AmsJournal) for the never-two-active check.
//
//   E2eCluster cluster(options);        // start_ams = false, controllers = 0
//   cluster.Start(false);
//   GatedPods pods(&cluster);
//   ASSERT_TRUE(pods.Start().ok());     // gates up and Ready
//   cluster.StartController(0); ...
//
// The kubelet runs on its own thread; the test's calls are thread-safe.
#ifndef AMS_HA_TESTS_SUPPORT_GATED_PODS_H_
#define AMS_HA_TESTS_SUPPORT_GATED_PODS_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/ams_journal.h"
#include "support/child_process.h"
#include "support/e2e_cluster.h"
#include "support/tcp_relay.h"

namespace amsha::testing {

// How the kubelet stand-in probes and restarts a pod's container. The
// defaults are quick (tests that do not care about the kubelet's timing);
// ExampleSpec() is manifests/example/amoro-ams.yaml's pod spec, with every
// duration divided by `scale` (documented where a test uses it).
struct KubeletSpec {
  std::chrono::milliseconds readiness_period{100};
  std::chrono::milliseconds readiness_timeout{1000};
  int readiness_failures = 3;
  bool liveness = false;
  std::chrono::milliseconds liveness_period{10000};
  std::chrono::milliseconds liveness_timeout{2000};
  int liveness_failures = 6;
  std::chrono::milliseconds termination_grace{60000};

  // readinessProbe: period 5s, timeout 2s, failureThreshold 3; livenessProbe:
  // period 10s, timeout 2s, failureThreshold 6; terminationGracePeriodSeconds 60.
  static KubeletSpec ExampleSpec(int scale);
};

struct GatedPodsOptions {
  std::string stop_grace = "2s";
  std::string poll_interval = "1s";
  std::string safety_margin = "1s";
  bool listen = true;  // gate.listen: LISTEN/NOTIFY, or polling only
  int readiness_port = 1631;
  // Extra arguments of every fake-ams (e.g. {"--start-delay", "8s"}).
  std::vector<std::string> ams_args;
  KubeletSpec kubelet;
};

class GatedPods {
 public:
  GatedPods(E2eCluster* cluster, GatedPodsOptions options = {});
  ~GatedPods();  // stops the kubelet, then kills every gate (and so its AMS)

  // Relays, gate configs and gates for every pod of the cluster, then the
  // kubelet; waits until every gate answers /readyz.
  Status Start();

  // --- scenarios ---
  void ForceNotReady(int i, bool not_ready);
  // Black-holes the database traffic of pod i's gate (or restores it).
  void Partition(int i, bool cut);
  // Pod i's node is lost: its gate is partitioned from the database and its
  // readiness is no longer mirrored (a kubelet that cannot reach the API
  // server reports nothing: the pod stays Ready). Processes keep running.
  void LoseNode(int i, bool lost);
  // SIGUSR1 to pod i's fake-ams: it stops answering but keeps running.
  Status HangAms(int i);
  // SIGSTOP / SIGCONT to pod i's gate process alone (not its fence, not AMS).
  Status FreezeGate(int i, bool frozen);
  // Pod i's node crashes: SIGKILL to every process of the pod (the gate, its
  // fence, AMS) at once; its kubelet reports nothing more (the pod stays
  // Ready in the API) and restarts nothing.
  Status CrashPod(int i);
  // Pod i's node is back after CrashPod: its kubelet restarts the gate.
  void RecoverPod(int i);
  // The pid of pod i's current AMS (from its gate's log), 0 if none.
  pid_t AmsPid(int i) const;
  // The pid of pod i's current gate process, 0 if none.
  pid_t GatePid(int i) const;
  int LivenessRestarts(int i) const;
  // Stops restarting gates (for a pod the test re-creates itself).
  void SetRestarts(bool on);

  // --- observation ---
  AmsJournal Journal() const { return AmsJournal::Read(journal_); }
  // Waits until exactly `pod` runs AMS by the journal (and answers); false
  // on timeout.
  bool WaitUntilOnlyRunning(const std::string& pod, std::chrono::milliseconds timeout);
  // Gate logs, for failure messages.
  std::string Logs() const;
  std::string GateLog(int i) const;
  int GateRestarts(int i) const;
  const std::string& journal_path() const { return journal_; }

 private:
  struct Pod {
    std::string name;
    std::string ip;
    std::unique_ptr<TcpRelay> relay;
    std::string config;
    std::unique_ptr<ChildProcess> gate;
    std::string uid;  // of the pod the gate runs for
    bool sigtermed = false;
    bool force_not_ready = false;
    bool node_lost = false;
    int restarts = 0;
    std::chrono::steady_clock::time_point exited_at{};
    int probe_failures = 0;     // consecutive failed /readyz probes
    int liveness_failures = 0;  // consecutive failed /healthz probes
    int liveness_restarts = 0;
    std::chrono::steady_clock::time_point next_readiness{};
    std::chrono::steady_clock::time_point next_liveness{};
    // Set when the liveness probe failed: SIGTERM sent, SIGKILL at this time.
    std::optional<std::chrono::steady_clock::time_point> kill_at;
  };
  Status WriteConfig(Pod& pod);
  Status StartGate(Pod& pod, const std::string& uid);
  void Kubelet();
  void KubeletPass();

  E2eCluster* cluster_;
  GatedPodsOptions options_;
  std::string journal_;
  mutable std::mutex mu_;
  std::vector<Pod> pods_;
  bool restarts_ = true;
  std::atomic<bool> stop_{false};
  std::thread kubelet_;
};

// GET http://ip:port/path with a short timeout; the HTTP status, 0 if none.
int HttpStatus(const std::string& ip, int port, const std::string& path,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_GATED_PODS_H_
