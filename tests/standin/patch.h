// Patch application for the three patch types the stand-in accepts:
//   application/merge-patch+json             RFC 7386 JSON merge patch
//   application/strategic-merge-patch+json   maps merge as in a merge
//       patch; lists with a merge key (ports, containers, ...) merge by it;
//       $setElementOrder, $patch (replace, delete) and $retainKeys are
//       honoured, other directives refused (what kubectl apply sends)
//   application/json-patch+json              RFC 6902 (add, remove, replace,
//       move, copy, test)
// Errors follow the API server: a body that does not decode is 400
// BadRequest, a patch that cannot be applied (a failed `test`, a missing
// path) is 422, an unknown content type is 415.
// Callers: the API handler (inside a Store::Update mutation). Pure functions.
#ifndef AMS_HA_TESTS_STANDIN_PATCH_H_
#define AMS_HA_TESTS_STANDIN_PATCH_H_

#include <string>

#include "standin/api_error.h"
#include "standin/json_util.h"

namespace amsha::standin {

// Applies `body` (of `content_type`, parameters like "; charset=utf-8"
// ignored) to *target.
ApiError ApplyPatch(const std::string& content_type, const std::string& body, Json* target);

void ApplyMergePatch(const Json& patch, Json* target);
// A strategic merge patch (see above) of an already decoded body.
ApiError ApplyStrategic(const Json& patch, Json* target);
// The patchMergeKey of a list field ("ports" -> "port"), or nullptr.
const char* MergeKeyOf(const std::string& field);
ApiError ApplyJsonPatch(const Json& ops, Json* target);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_PATCH_H_
