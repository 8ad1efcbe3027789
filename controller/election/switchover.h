// The switchover request channel: a row of `ha_lease` that the CLI writes
// and the active controller answers, so `switchover` needs only the
// database credentials that `status` needs too.
//
//   row (cluster, "SWITCHOVER"):
//     request   node_id "to:<pod>",       lease_expire_ts = now + timeout
//     answer    node_id "done:<pod>" or "rejected:<pod>", expired at once,
//               server_info_json {"result":"done|rejected","message":"..."}
// The CLI takes the row with Acquire (so two requests cannot overlap: a
// pending one is unexpired) and polls it until the answer appears or its
// deadline passes. The controller answers with HandOver at the request's
// version, so a stale answer can never overwrite a newer request.
#ifndef AMS_HA_ELECTION_SWITCHOVER_H_
#define AMS_HA_ELECTION_SWITCHOVER_H_

#include <optional>
#include <string>

#include "lease/lease_record.h"

namespace amsha {

// kSwitchoverServiceName ("SWITCHOVER") is in lease/lease_record.h.

struct SwitchoverRequest {
  std::string target_pod;
  std::string node_id;  // the request row's node_id ("to:<pod>")
  int32_t version = 0;
};

// The pending request in `row`, if it is one and has not expired.
std::optional<SwitchoverRequest> PendingSwitchover(const std::optional<LeaseRecord>& row);

LeaseHolder SwitchoverRequestHolder(const std::string& target_pod);
LeaseHolder SwitchoverAnswerHolder(const std::string& target_pod, bool done,
                                   const std::string& message);

struct SwitchoverAnswer {
  bool done = false;
  std::string message;
};
// The answer in `row` to a request that was made at `request_version`.
std::optional<SwitchoverAnswer> SwitchoverAnswerIn(const std::optional<LeaseRecord>& row,
                                                   int32_t request_version);

}  // namespace amsha

#endif  // AMS_HA_ELECTION_SWITCHOVER_H_
