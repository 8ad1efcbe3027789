// GateLoop: the thin loop of `ams-ha-controller gate` around AmsGate (the
// decisions), the AMS child process and the lease-change notifier.
//
// RunOnce() is one pass: handle a pending stop signal (pass it to AMS, wait
// the grace, SIGKILL, release the gate row, exit with AMS's status), notice
// an AMS that exited on its own (release the row, exit with its status),
// otherwise step the gate and act on its decision (start AMS; or stop it,
// release the row and exit with kGateExitFenced so the pod restarts as a
// follower). It returns how long to wait, or the exit code. Run() loops,
// sleeping in LeaseChangeNotifier::Wait(), which a NOTIFY, a signal
// (RequestStop) or the AMS child's exit (Wake) cut short. Each change of
// situation is logged once ("follower: lease held by ..., waiting").
// Health() answers the readiness endpoint: ready while the loop turns and
// the database was reached within leaseTtl, for followers and the leader
// alike (docs/gate.md, "Readiness").
//
// Fencing must not wait for a database call: a statement to a server that
// vanished blocks for up to statementTimeout (+1 s) or connectTimeout. So
// EnforceFence(), run every 50 ms by a thread of Run(), sends SIGTERM to AMS
// the moment AmsGate's fence deadline passes without a new confirmation, and
// SIGKILL stopGracePeriod later, whatever the loop's thread is doing; the
// loop then finishes the stop and exits with kGateExitFenced.
// Thread safety: Run/RunOnce on one thread (the one that may fork AMS);
// RequestStop, Wake, Health and EnforceFence from any thread.
#ifndef AMS_HA_GATE_GATE_LOOP_H_
#define AMS_HA_GATE_GATE_LOOP_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "config/config.h"
#include "gate/ams_gate.h"
#include "gate/ams_process.h"
#include "gate/readiness_server.h"
#include "lease/lease_change_notifier.h"
#include "lease/lease_store.h"

namespace amsha {

// The gate stopped AMS because this pod no longer leads, or could not
// confirm that it does: restart as a follower.
inline constexpr int kGateExitFenced = 3;

class GateLoop {
 public:
  struct Deps {
    LeaseStore* store = nullptr;
    LeaseChangeNotifier* notifier = nullptr;
    AmsRunner* ams = nullptr;
    const Clock* clock = nullptr;
    // Health() calls the loop stuck when no pass started for this long. A
    // pass may legitimately wait for a few database calls during an outage,
    // so this must cover them: a liveness restart kills AMS with the gate.
    std::chrono::milliseconds health_bound{60000};
    // The local probe of AMS's REST port (a TCP connect on the pod IP):
    // true when it answers. Run once per pass while AMS runs; its outcome
    // goes into the gate row ("starting", "serving", ...). Null: never
    // probed (AMS stays "starting" in the row).
    std::function<bool()> probe_ams;
  };

  GateLoop(GateIdentity me, ClusterConfig cluster, GateConfig gate, Deps deps);

  struct Pass {
    std::optional<int> exit_code;  // set once the gate is done
    std::chrono::milliseconds wait{0};
  };
  // One pass. Blocks only while stopping AMS (up to stopGracePeriod).
  Pass RunOnce();
  // Passes until the gate is done; returns the process exit code.
  int Run();

  // A SIGTERM or SIGINT arrived: pass it to AMS and exit.
  void RequestStop(int signal);
  // AMS may have exited (SIGCHLD): step at once.
  void Wake();
  // "/readyz" or "/healthz".
  ReadinessServer::Answer Health(const std::string& path) const;
  // Signals AMS if the fence deadline (or it + stopGracePeriod) has passed.
  void EnforceFence();

 private:
  void PublishFence(bool ams_alive);
  int Finish(int code);
  void ReleaseRow();
  void Report(const GateDecision& decision);
  // Probes AMS (when running) and hands the state to the gate step.
  void ObserveAms(bool running);

  const GateIdentity me_;
  const ClusterConfig cluster_;
  const GateConfig gate_;
  Deps deps_;
  AmsGate gate_step_;
  std::atomic<int> stop_signal_{0};
  bool ams_started_ = false;
  AmsReport ams_report_;
  int probe_failures_ = 0;  // local probes failed in a row
  std::string situation_;   // of the last summary logged

  mutable std::mutex mu_;
  MonoTime last_pass_{};
  std::optional<MonoTime> last_database_ok_;
  std::string summary_;
  bool stopping_ = false;
  // Fencing state shared with EnforceFence().
  bool ams_alive_ = false;
  std::optional<MonoTime> fence_deadline_;
  std::optional<MonoTime> fenced_at_;  // when EnforceFence sent SIGTERM
  bool fence_killed_ = false;
};

}  // namespace amsha

#endif  // AMS_HA_GATE_GATE_LOOP_H_
