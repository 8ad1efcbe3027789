// GateLoop: the thin loop of `ams-ha-controller gate` around AmsGate (the
// decisions), the AMS child process and the lease-change notifier.
//
// RunOnce() is one pass: notice an AMS that exited on its own (release the
// row, exit with its status); on a pending stop signal pass it to AMS; else
// probe AMS locally (AmsReport, for the gate row), step the gate and act on
// its decision (start AMS; or stop it). A stop is not one blocking call:
// the loop sends SIGTERM, then each pass renews the gate row (so the stop
// keeps its grace while the kill deadline moves) until AMS has exited or
// the grace is over (SIGKILL); then it releases the row and exits (with
// AMS's status after a signal, kGateExitFenced when the pod no longer
// leads). It returns how long to wait, or the exit code. Run() loops,
// sleeping in LeaseChangeNotifier::Wait(), which a NOTIFY, a signal
// (RequestStop) or the AMS child's exit (Wake) cut short. Each change of
// situation is logged once ("follower: lease held by ..., waiting").
// Health() answers the readiness endpoint: ready while the loop turns and
// the database was reached within leaseTtl, for followers and the leader
// alike (docs/gate.md, "Readiness").
//
// Fencing must not wait for a database call, nor for this process at all
// (a stopped or stalled gate, a full log pipe): the loop hands the kill
// deadline (AmsGate::fence_deadline()) to a Fence (gate/fence_process.h)
// with every renewal, and the fence SIGKILLs AMS when it passes; the loop
// notices afterwards (Fence::Fired) and finishes.
// Thread safety: Run/RunOnce on one thread (the one that may fork AMS);
// RequestStop, Wake and Health from any thread.
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
#include "gate/fence_process.h"
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
    Fence* fence = nullptr;
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

 private:
  void PublishFence(bool ams_alive);
  // Sends `signal` to AMS and enters the stopping state; each pass then
  // renews the row until AMS has exited (StopPass).
  void BeginStop(int signal, bool fenced, const std::string& why);
  Pass StopPass();
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
  int probe_failures_ = 0;                // local probes failed in a row
  std::optional<MonoTime> stop_sent_at_;  // set once AMS is being stopped
  bool fenced_exit_ = false;              // exit kGateExitFenced once it has
  bool kill_sent_ = false;
  std::string situation_;  // of the last summary logged

  mutable std::mutex mu_;
  MonoTime last_pass_{};
  std::optional<MonoTime> last_database_ok_;
  std::string summary_;
  bool stopping_ = false;
};

}  // namespace amsha

#endif  // AMS_HA_GATE_GATE_LOOP_H_
