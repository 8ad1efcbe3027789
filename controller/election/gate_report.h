// GateReport: what a pod's gate says about its AMS, read by the controller
// from the gate row (cluster, "AMS_GATE") of ha_lease.
//
// The gate writes into the row's server_info_json a flat JSON object
// (docs/gate.md, "The gate row"):
//   {"pod":"ams-0","podUid":"...","ams":"starting"|"serving"|"unresponsive"|
//    "stopping"|"stopped","amsStartedAtMs":<db-clock ms>,"servingSinceMs":<ms>}
// The row itself says whether the gate is alive: it renews it often, so an
// unexpired row is a live gate that reaches the database.
// ParseGateReport reads only those keys, tolerates any other ones and
// never fails: what it cannot read is kUnknown / 0. Pure; thread-safe.
#ifndef AMS_HA_ELECTION_GATE_REPORT_H_
#define AMS_HA_ELECTION_GATE_REPORT_H_

#include <cstdint>
#include <string>

namespace amsha {

struct GateReport {
  enum class Ams { kUnknown, kStopped, kStarting, kServing, kUnresponsive, kStopping };
  std::string pod;
  std::string pod_uid;
  Ams ams = Ams::kUnknown;
  int64_t ams_started_at_ms = 0;
  int64_t serving_since_ms = 0;
};

GateReport ParseGateReport(const std::string& server_info_json);
const char* GateAmsName(GateReport::Ams ams);

}  // namespace amsha

#endif  // AMS_HA_ELECTION_GATE_REPORT_H_
