// Validation of objects before the store accepts them, with the field paths
// and messages of the real API server's 422 Invalid responses: object names,
// label and annotation keys and values, a Service's selector, and a core/v1
// Event as kube-apiserver's legacyValidateEvent checks it (plus a few
// stricter rules, marked). Each rule's comment names its Kubernetes source.
// Immutable fields are the store's (store.cc), unknown fields schema.cc's.
// Callers: the store on create and update. Pure functions.
#ifndef AMS_HA_TESTS_STANDIN_VALIDATION_H_
#define AMS_HA_TESTS_STANDIN_VALIDATION_H_

#include <string>

#include "standin/api_error.h"
#include "standin/json_util.h"

namespace amsha::standin {

// `resource` is the plural name (pods, services, events).
ApiError ValidateObject(const std::string& resource, const Json& obj);

// Fills what the API server defaults on create: a Service's type, port
// protocol and targetPort; an Event's count and timestamps.
void ApplyDefaults(const std::string& resource, Json* obj);

// "Pod" for "pods", as used in messages and in `kind`.
std::string KindOf(const std::string& resource);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_VALIDATION_H_
