// RequestLog: a bounded record of the API requests the stand-in answered
// (method, path, query, status code, request content type and body, and
// the RBAC verb, resource and User-Agent: what an authorizer sees), served
// by GET /admin/record/requests so tests can assert what a client sent, e.g.
// "exactly one PATCH of the Service" or "the patch was a merge patch".
// Callers: the API handler (add), the admin handler (read, clear).
// Thread-safe.
#ifndef AMS_HA_TESTS_STANDIN_REQUEST_LOG_H_
#define AMS_HA_TESTS_STANDIN_REQUEST_LOG_H_

#include <deque>
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
  void Clear();

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::deque<Json> entries_;
};

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_REQUEST_LOG_H_
