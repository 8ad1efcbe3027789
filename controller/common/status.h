// Status and StatusOr<T>: errors as values inside the core.
//
// Every adapter (PostgreSQL, Kubernetes REST, YAML, Prometheus) catches the
// exceptions of its library and returns one of these codes instead, so that
// the election and routing logic decide on outcomes, never on exceptions:
//   kConflict         another holder won the race: a normal outcome.
//   kUnavailable      a transient outage: retry with backoff.
//   kInvalidArgument  bad configuration or input: fatal at start-up.
//   kFailedPrecondition, kPermissionDenied, kUnauthenticated: the environment
//                     is wrong (missing table, RBAC, credentials): fatal, with
//                     a message that names the fix.
// Thread safety: values; safe to copy between threads.
#ifndef AMS_HA_COMMON_STATUS_H_
#define AMS_HA_COMMON_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace amsha {

enum class StatusCode {
  kOk = 0,
  kConflict,
  kUnavailable,
  kInvalidArgument,
  kNotFound,
  kFailedPrecondition,
  kPermissionDenied,
  kUnauthenticated,
  kGone,
  kDeadlineExceeded,
  kCancelled,
  kInternal,
};

const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsConflict() const { return code_ == StatusCode::kConflict; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  // Retrying may help: outages, timeouts and server-side expiry.
  bool IsTransient() const {
    return code_ == StatusCode::kUnavailable || code_ == StatusCode::kDeadlineExceeded ||
           code_ == StatusCode::kGone;
  }

  // "Unavailable: connection refused", or "OK".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status ConflictError(std::string msg) { return {StatusCode::kConflict, std::move(msg)}; }
inline Status UnavailableError(std::string msg) {
  return {StatusCode::kUnavailable, std::move(msg)};
}
inline Status InvalidArgumentError(std::string msg) {
  return {StatusCode::kInvalidArgument, std::move(msg)};
}
inline Status NotFoundError(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
inline Status FailedPreconditionError(std::string msg) {
  return {StatusCode::kFailedPrecondition, std::move(msg)};
}
inline Status PermissionDeniedError(std::string msg) {
  return {StatusCode::kPermissionDenied, std::move(msg)};
}
inline Status UnauthenticatedError(std::string msg) {
  return {StatusCode::kUnauthenticated, std::move(msg)};
}
inline Status InternalError(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
inline Status CancelledError(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }

// A value or the Status that explains why there is none.
template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "StatusOr built from an OK status without a value");
    if (status_.ok()) status_ = InternalError("StatusOr built from OK status without a value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T& value() & {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace amsha

#endif  // AMS_HA_COMMON_STATUS_H_
