// RequestLog: a bounded record of the API requests the stand-in answered
// (method, path, query, status code, request content type and body, and
// the RBAC verb, resource and User-Agent: what an authorizer sees), served
// by GET /admin/record/requests so tests can assert what a client sent, e.g.
// "exactly one PATCH of the Service" or "the patch was a merge patch".
// Callers: the API handler (add), the admin handler (read, clear).
// Thread-safe.
#ifndef AMS_HA_TESTS_STANDIN_REQUEST_LOG_H_
#define AMS_HA_TESTS_STANDIN_REQUEST_LOG_H_

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "standin/json_util.h"

namespace amsha::standin {

class RequestLog {
 public:
  explicit RequestLog(size_t capacity = 20000) : capacity_(capacity) {}

  void Add(const std::string& method, const std::string& path, const std::string& query, int code,
           const std::string& content_type, const std::string& body, const std::string& verb = "",
           const std::string& resource = "", const std::string& user_agent = "");
  Json ToJson();
  // How many requests were answered since start, by RBAC verb ("" for
  // discovery) and by "verb resource": {"byVerb":{"get":3,...},
  // "byVerbResource":{"get services":3,...}}. Not bounded by the capacity
  // and not reset by Clear(), so a reader can take deltas over any window.
  Json CountsJson();
  void Clear();

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::deque<Json> entries_;
  std::map<std::string, int64_t> by_verb_;
  std::map<std::string, int64_t> by_verb_resource_;
};

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_REQUEST_LOG_H_
