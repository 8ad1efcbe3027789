// AmsGate: decides, one non-sleeping step at a time, whether the AMS process
// of this pod may run. The heart of `ams-ha-controller gate` (docs/gate.md).
//
// Two rows of ha_lease decide:
//   (cluster, "AMS")       the lease the controller holds for the elected
//                          pod: node_id "<podIP>:<optimizingPort>:<podUID>".
//                          It says WHICH pod should run AMS.
//   (cluster, "AMS_GATE")  the gate row: held by the one gate whose AMS may be
//                          running. It makes sure that no two AMS processes
//                          ever run at once, whatever the lease does.
// A gate starts AMS only when the lease names its pod, unexpired by the
// database clock, AND it holds the gate row (taken with Acquire, which
// succeeds only once the previous holder released it or let it expire).
// The row's ttl is gate.rowTtl, short and independent of the lease and of
// stopGracePeriod; the gate renews it every renewInterval (RenewWithInfo,
// carrying AMS's state: AmsReport), also while AMS stops (RenewRow), and
// releases it only after its AMS has exited. Each successful write moves
// the kill deadline, fence_deadline() = start of that write + rowTtl -
// safetyMargin, which the fence enforces with SIGKILL: AMS is dead before
// the row can expire for anyone else. The gate stops AMS (SIGTERM, grace)
// when:
//   - the lease names another pod, or nobody, or has expired;
//   - it cannot confirm the lease for longer than it could still be valid;
// and kills it at once when the gate row was lost (this gate was frozen).
// A gate row naming this pod's own UID is left over from an earlier gate
// process of this pod, whose AMS died with it (PR_SET_PDEATHSIG, or the
// container restart): the gate takes it over at once.
//
// Time comes from the injected Clock; expiry is judged by the database
// clock (LeaseRecord). Thread-compatible: the gate loop's thread only.
#ifndef AMS_HA_GATE_AMS_GATE_H_
#define AMS_HA_GATE_AMS_GATE_H_

#include <chrono>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "lease/lease_store.h"

namespace amsha {

// The gate's single row per cluster (service_name is VARCHAR(64)).
inline constexpr char kGateServiceName[] = "AMS_GATE";

// Who this gate is: from the downward API (POD_NAME, POD_UID, POD_IP).
struct GateIdentity {
  std::string pod_name;
  std::string pod_uid;
  std::string pod_ip;
};

// What the gate knows of its AMS process, written into the gate row with
// every write of it (docs/gate.md, "The gate row"). Times are on the gate's
// clock; AmsGate converts them to the database clock for the row.
struct AmsReport {
  enum class State {
    kStopped,       // not running (not started yet, or exited)
    kStarting,      // started; its REST port has not answered the local probe yet
    kServing,       // the local probe of its REST port answers
    kUnresponsive,  // it served, then failed probe.failureThreshold local probes in a row
    kStopping,      // SIGTERM sent; waiting for it to exit
  };
  State state = State::kStopped;
  std::optional<MonoTime> started_at;     // when the gate started it
  std::optional<MonoTime> serving_since;  // when the local probe first answered
};
const char* AmsStateName(AmsReport::State state);

struct GateDecision {
  enum class Action {
    kNone,      // keep things as they are
    kStartAms,  // start the AMS command now (the gate row is held)
    kStopAms,   // stop AMS, release the gate row, exit non-zero
  };
  Action action = Action::kNone;
  // What the gate is doing or waiting for, and why. The text before the
  // first " (" names the situation and stays the same while it lasts (the
  // rest carries figures): the loop logs the summary when that part changes.
  std::string summary;
  // Step again after at most this long (a notification may come sooner).
  std::chrono::milliseconds next_step{0};
  // kStopAms only: no grace, SIGKILL now (the row is no longer this gate's).
  bool kill_now = false;
  // True when this step read the lease from the database.
  bool database_ok = false;
  Status status;  // the failed store call, if any
};

class AmsGate {
 public:
  AmsGate(GateIdentity me, ClusterConfig cluster, GateConfig gate, LeaseStore* store,
          const Clock* clock);

  // One step. `ams_running`: the AMS process this gate started is alive.
  GateDecision Step(bool ams_running);

  // What AMS is doing: written into the gate row with its next write.
  void ReportAms(const AmsReport& report) { ams_ = report; }
  // The gate row's server_info_json now:
  //   {"pod":"ams-0","podUid":"...","ams":"serving","amsStartedAtMs":..,"servingSinceMs":..}
  // with the times on the database clock (ms since the epoch; 0 when unset).
  std::string RowInfo() const;

  // While AMS stops (SIGTERM sent, the grace running): renews the gate row
  // without reading the lease, so the stop keeps its grace while the fence
  // deadline keeps moving. kConflict when the row is no longer this gate's
  // (AMS must die at once: another gate may take the row), kUnavailable
  // when the database did not answer (the fence deadline stays).
  Status RenewRow();

  // Call once AMS has exited (or was never started): gives the gate row up
  // so that the next leader need not wait for it to expire. OK when no row
  // was held; kConflict when it was no longer ours.
  Status ReleaseRow();
  bool HoldsRow() const { return row_.has_value(); }

  // While this gate holds the row: when AMS must be dead unless the row is
  // renewed again first (the fence's kill deadline): the start of the last
  // successful write of the row + rowTtl - safetyMargin, before the row can
  // expire for anyone else. nullopt when no row is held.
  std::optional<MonoTime> fence_deadline() const;

  const std::string& node_id() const { return node_id_; }
  LeaseKey lease_key() const { return {cluster_.name, kAmsServiceName}; }
  LeaseKey gate_key() const { return {cluster_.name, kGateServiceName}; }

 private:
  GateDecision Follow(const std::optional<LeaseRecord>& lease, bool ams_running);
  GateDecision Lead(const LeaseRecord& lease, MonoTime read_start, bool ams_running);
  GateDecision WaitForRow();
  GateDecision Stop(const std::string& why);
  std::chrono::milliseconds RowTtl() const;
  MonoTime KillDeadline(MonoTime write_start) const;
  std::chrono::milliseconds RetryStep() const;
  // When a leader must start stopping AMS if nothing is confirmed before.
  MonoTime FenceDeadline() const;
  std::chrono::milliseconds Until(MonoTime t) const;
  std::chrono::milliseconds LeaderStep() const;
  LeaseHolder Holder() const;
  // Remembers the database clock of a row write that returned just now.
  void Anchor(const LeaseRecord& written);
  int64_t DbMs(std::optional<MonoTime> t) const;

  const GateIdentity me_;
  const ClusterConfig cluster_;
  const GateConfig gate_;
  LeaseStore* store_;
  const Clock* clock_;
  const std::string node_id_;
  std::optional<LeaseRecord> row_;  // the gate row, while this gate holds it
  std::optional<MonoTime> lease_deadline_;
  std::optional<MonoTime> row_deadline_;
  AmsReport ams_;
  // The database clock (db_now_ms) of the last row write, and this clock
  // when its reply arrived: converts local times for the row.
  int64_t anchor_db_ms_ = 0;
  MonoTime anchor_local_{};
};

// "12.3s": for log lines.
std::string Seconds(std::chrono::milliseconds d);

}  // namespace amsha

#endif  // AMS_HA_GATE_AMS_GATE_H_
