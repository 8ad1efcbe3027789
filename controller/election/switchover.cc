#include "election/switchover.h"

#include "common/json.h"

namespace amsha {
namespace {

constexpr char kRequestPrefix[] = "to:";
constexpr char kDonePrefix[] = "done:";
constexpr char kRejectedPrefix[] = "rejected:";

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::optional<SwitchoverRequest> PendingSwitchover(const std::optional<LeaseRecord>& row) {
  if (!row || row->Expired() || !StartsWith(*row->node_id, kRequestPrefix)) return std::nullopt;
  SwitchoverRequest request;
  request.target_pod = row->node_id->substr(sizeof(kRequestPrefix) - 1);
  request.node_id = *row->node_id;
  request.version = row->version;
  return request;
}

LeaseHolder SwitchoverRequestHolder(const std::string& target_pod) {
  return {kRequestPrefix + target_pod, "", Json::Object().Set("to", target_pod).Serialize()};
}

LeaseHolder SwitchoverAnswerHolder(const std::string& target_pod, bool done,
                                   const std::string& message) {
  return {
      (done ? kDonePrefix : kRejectedPrefix) + target_pod, "",
      Json::Object().Set("result", done ? "done" : "rejected").Set("message", message).Serialize()};
}

std::optional<SwitchoverAnswer> SwitchoverAnswerIn(const std::optional<LeaseRecord>& row,
                                                   int32_t request_version) {
  if (!row || !row->node_id || row->version <= request_version) return std::nullopt;
  SwitchoverAnswer answer;
  if (StartsWith(*row->node_id, kDonePrefix)) {
    answer.done = true;
  } else if (!StartsWith(*row->node_id, kRejectedPrefix)) {
    return std::nullopt;
  }
  answer.message = JsonStringMember(row->server_info_json.value_or(""), "message");
  return answer;
}

}  // namespace amsha
