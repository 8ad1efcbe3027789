// The fields of the kinds the stand-in serves, for server-side field
// validation (`fieldValidation` query parameter, Kubernetes 1.27 GA):
// the API server decodes a body into its Go types, so a field the type does
// not have is either rejected (Strict: 400 "strict decoding error: unknown
// field \"spec.foo\"") or dropped (Ignore, and Warn, the default, which also
// answers with a Warning header). Field lists follow
// staging/src/k8s.io/api/core/v1/types.go (Event, Service, ServiceSpec,
// ServicePort, ObjectReference, EventSource, EventSeries) and
// staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go (ObjectMeta,
// OwnerReference). A Pod's spec and status are not modelled (any field is
// accepted there): the controller never writes them.
// Callers: the API handler on create, update and patch. Pure functions.
#ifndef AMS_HA_TESTS_STANDIN_SCHEMA_H_
#define AMS_HA_TESTS_STANDIN_SCHEMA_H_

#include <string>
#include <vector>

#include "standin/json_util.h"

namespace amsha::standin {

// Paths of the fields of `obj` (of resource `resource`) its type does not
// have, in the API server's form ("spec.ports[0].nmae"); when `drop`, they
// are also removed from *obj.
std::vector<std::string> UnknownFields(const std::string& resource, Json* obj, bool drop);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_SCHEMA_H_
