#include "election/switchover.h"

#include "common/logging.h"

namespace amsha {
namespace {

constexpr char kRequestPrefix[] = "to:";
constexpr char kDonePrefix[] = "done:";
constexpr char kRejectedPrefix[] = "rejected:";

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// The value of "message" in the answer JSON this file writes.
std::string MessageOf(const std::string& json) {
  const std::string key = "\"message\":\"";
  size_t start = json.find(key);
  if (start == std::string::npos) return "";
  std::string out;
  for (size_t i = start + key.size(); i < json.size(); ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) {
      char c = json[++i];
      out += c == 'n' ? '\n' : c;
    } else if (json[i] == '"') {
      break;
    } else {
      out += json[i];
    }
  }
  return out;
}

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
  return {kRequestPrefix + target_pod, "", "{\"to\":\"" + JsonEscape(target_pod) + "\"}"};
}

LeaseHolder SwitchoverAnswerHolder(const std::string& target_pod, bool done,
                                   const std::string& message) {
  return {(done ? kDonePrefix : kRejectedPrefix) + target_pod, "",
          std::string("{\"result\":\"") + (done ? "done" : "rejected") + "\",\"message\":\"" +
              JsonEscape(message) + "\"}"};
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
  answer.message = MessageOf(row->server_info_json.value_or(""));
  return answer;
}

}  // namespace amsha
