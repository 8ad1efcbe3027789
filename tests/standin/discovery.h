// The API server's discovery documents for the subset the stand-in serves:
// /version, /api (APIVersions), /api/v1 (APIResourceList with verbs, kinds
// and short names) and /apis (an empty APIGroupList), which is what kubectl
// 1.31 needs to map `get pods`, `svc` or `events` to URLs.
// Callers: the API handler. Pure functions.
#ifndef AMS_HA_TESTS_STANDIN_DISCOVERY_H_
#define AMS_HA_TESTS_STANDIN_DISCOVERY_H_

#include <string>

#include "standin/json_util.h"

namespace amsha::standin {

Json VersionInfo();
Json ApiVersions(const std::string& server_address);
Json CoreV1Resources();
Json ApiGroupList();
// A minimal OpenAPI v3 index (/openapi/v3) and core/v1 document
// (/openapi/v3/api/v1): only the PATCH operations with their group-version-
// kind and the fieldValidation parameter, which is what kubectl checks to
// leave validation to the server instead of downloading full schemas.
// (The stand-in accepts fieldValidation and does not enforce it.)
Json OpenApiV3Index();
Json OpenApiV3CoreV1();
// Whether `resource` is one the stand-in stores (pods, services, events).
bool IsServedResource(const std::string& resource);
// "PodList" for "pods".
std::string ListKindOf(const std::string& resource);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_DISCOVERY_H_
