// ValidateConfig: rules that span keys, checked once at start-up.
//
// Each problem is one line naming where it was written and what to do:
//   config.yaml:7:18: controller.renewDeadline (15s) must be shorter than
//   controller.leaseDuration (15s)
// Timing rules (why they exist is in README.md, "Timing"):
//   leaseDuration > renewDeadline > 1.2 x retryPeriod   (as client-go)
//   leaseTtl > leaseDuration + retryPeriod + heartbeatInterval
//     so that a controller takeover (at most leaseDuration + retryPeriod)
//     always finishes before an AMS lease renewed one heartbeat earlier
//     expires: a controller restart never costs an AMS failover.
//   gate.safetyMargin + gate.pollInterval < leaseTtl - heartbeatInterval
//     so that a gate confirms its pod's lease before it would fence it.
//   gate.rowTtl >= gate.safetyMargin + gate.renewInterval + 5s
//     so that a database restart of up to 5 s never kills a healthy AMS
//     (docs/gate.md, "Numbers").
// The two leaseTtl rules and the notReadyGracePeriod rule apply to clusters
// in `mode: manage` only: in follow mode AMS holds the lease itself.
#ifndef AMS_HA_CONFIG_CONFIG_VALIDATOR_H_
#define AMS_HA_CONFIG_CONFIG_VALIDATOR_H_

#include <string>
#include <vector>

#include "config/config.h"

namespace amsha {

// The database outage (a PostgreSQL restart) a leader's gate rides out
// without stopping AMS: the gate.rowTtl rule above.
inline constexpr milliseconds kGateDatabaseBlip{5000};

// Every problem found; empty when the configuration is usable.
std::vector<std::string> ValidateConfig(const Config& config);

// Kubernetes DNS-1035 label (Service names): [a-z]([-a-z0-9]*[a-z0-9])?, at most 63.
bool IsDns1035Label(const std::string& name);

}  // namespace amsha

#endif  // AMS_HA_CONFIG_CONFIG_VALIDATOR_H_
