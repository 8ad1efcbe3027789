// ControllerElector: which controller replica is active.
//
// Replicas compete for one row of `ha_lease`: (controller.leaseName,
// "HA_CONTROLLER"), node_id = the replica's identity. Step() acquires or
// renews it (call it every retryPeriod). IsActive() is judged on this
// process's monotonic clock: the replica is active only while its last
// successful renewal *started* less than renewDeadline ago. Since the
// database stamped that renewal after it started, and renewDeadline <
// leaseDuration, a replica stops writing before any other can acquire the
// row, whatever the machines' wall clocks say.
// Thread safety: Step() and Release() from one thread; IsActive() and
// ActiveIdentity() from any thread.
#ifndef AMS_HA_ELECTION_CONTROLLER_ELECTOR_H_
#define AMS_HA_ELECTION_CONTROLLER_ELECTOR_H_

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "config/config.h"
#include "lease/lease_store.h"

namespace amsha {

inline constexpr char kControllerServiceName[] = "HA_CONTROLLER";

struct ControllerStep {
  bool active = false;
  bool became_active = false;  // this step won the row
  bool lost = false;           // this step found the row held by another
  Status status;
};

class ControllerElector {
 public:
  ControllerElector(ControllerConfig config, LeaseStore* store, const Clock* clock);

  ControllerStep Step();
  bool IsActive() const;
  // Gives the row up (on SIGTERM) so a standby takes over at once. The
  // caller must have stopped writing first.
  Status Release();
  // The identity named in the row as last read ("" when unknown).
  std::string ActiveIdentity() const;
  const std::string& identity() const { return config_.identity; }
  LeaseKey key() const { return {config_.lease_name, kControllerServiceName}; }

 private:
  ControllerConfig config_;
  LeaseStore* store_;
  const Clock* clock_;
  std::optional<LeaseRecord> held_;          // our row, while we hold it
  std::atomic<int64_t> active_until_ns_{0};  // monotonic deadline for writes
  mutable std::mutex mu_;
  std::string active_identity_;
};

}  // namespace amsha

#endif  // AMS_HA_ELECTION_CONTROLLER_ELECTOR_H_
