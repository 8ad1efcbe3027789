// ApiError: a Kubernetes API failure as a value (HTTP code, Status reason,
// message, details) and its rendering as a `kind: Status` object, in the
// message formats the real API server uses (so clients can be tested on
// what they will see in production).
// Callers: the store, patching, validation and the API handler.
// Thread-compatible value.
#ifndef AMS_HA_TESTS_STANDIN_API_ERROR_H_
#define AMS_HA_TESTS_STANDIN_API_ERROR_H_

#include <string>

#include "standin/json_util.h"

namespace amsha::standin {

struct ApiError {
  int code = 0;  // 0: no error
  std::string reason;
  std::string message;
  Json details = Json::null();
  int retry_after_seconds = 0;  // sent as Retry-After when > 0

  bool ok() const { return code == 0; }
  Json ToStatus() const;
};

ApiError Ok();
ApiError NotFound(const std::string& resource, const std::string& name);
ApiError AlreadyExists(const std::string& resource, const std::string& name);
ApiError Conflict(const std::string& resource, const std::string& name);
ApiError BadRequest(const std::string& message);
// 422 with one cause per invalid field, e.g. {"reason", "Required value"}.
ApiError Invalid(const std::string& kind, const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& field_errors);
ApiError UnsupportedMediaType(const std::string& content_type);
ApiError Unauthorized();
ApiError Forbidden(const std::string& user, const std::string& verb, const std::string& resource,
                   const std::string& name, const std::string& ns);
ApiError Expired(const std::string& message);
ApiError MethodNotAllowed();
// A fault injected through the admin API.
ApiError Injected(int code, const std::string& reason, int retry_after_seconds);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_API_ERROR_H_
