// Server-side printing: the meta.k8s.io/v1 Table that kubectl asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, with the columns
// the API server prints for pods (NAME READY STATUS RESTARTS AGE, wide: IP
// NODE), services (NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, wide:
// SELECTOR) and events (LAST SEEN TYPE REASON OBJECT MESSAGE). Other
// clients, which accept plain JSON, never see a Table.
// Callers: the API handler for list, get and watch. Pure functions.
#ifndef AMS_HA_TESTS_STANDIN_TABLE_H_
#define AMS_HA_TESTS_STANDIN_TABLE_H_

#include <string>
#include <vector>

#include "standin/json_util.h"

namespace amsha::standin {

// True when the Accept header lists a meta.k8s.io/v1 Table.
bool WantsTable(const std::string& accept);

// `include_object`: the includeObject parameter (None, Object, or the
// default PartialObjectMetadata).
Json ToTable(const std::string& resource, const std::vector<Json>& items, const std::string& rv,
             const std::string& include_object);

// kubectl's human durations: 45s, 5m3s, 75m, 3h2m, 30h, 2d5h, 30d.
std::string HumanAge(int64_t seconds);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_TABLE_H_
