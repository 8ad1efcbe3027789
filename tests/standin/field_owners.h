// FieldOwners: server-side apply's field management for one object, enough
// for what GitOps tools and this project do (Kubernetes'
// staging/src/k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager and
// sigs.k8s.io/structured-merge-diff, reduced): every leaf field of an object
// is owned by the managers that set it. An update (create, PUT, any
// non-apply PATCH) gives its manager the fields it changed and takes them
// from everyone else. An apply (PATCH application/apply-patch+yaml) by a
// manager: conflicts (409) on fields whose value it would change that
// another manager owns, unless forced (then it takes them); removes the
// fields it applied before and no longer applies, unless another manager
// also owns them; merges the configuration like a strategic merge patch;
// and then owns exactly the fields of its configuration.
//
// Leaf paths: "/spec/type", "/metadata/labels/app.kubernetes.io~1name",
// list elements with a merge key "/spec/ports[port=1630]" (the element
// itself) and "/spec/ports[port=1630]/name"; other lists are atomic leaves.
// Not modelled: managedFields in responses, apply on status, versions.
// Callers: the Store, under its lock. Thread-compatible.
#ifndef AMS_HA_TESTS_STANDIN_FIELD_OWNERS_H_
#define AMS_HA_TESTS_STANDIN_FIELD_OWNERS_H_

#include <map>
#include <set>
#include <string>

#include "standin/api_error.h"
#include "standin/json_util.h"

namespace amsha::standin {

// path -> value of each leaf field a client may own (identity, server-set
// metadata and status are left out).
std::map<std::string, Json> LeafFields(const Json& obj);

class FieldOwners {
 public:
  // A write that is not an apply, by `manager`, from `before` (null for a
  // create) to `after`.
  void RecordUpdate(const std::string& manager, const Json& before, const Json& after);

  // Applies `config` by `manager` to *live (a copy of the stored object).
  // On a conflict returns 409 and leaves everything unchanged.
  ApiError Apply(const std::string& kind, const std::string& manager, const Json& config,
                 bool force, Json* live);

  // For tests and messages: the managers owning `path`.
  std::set<std::string> OwnersOf(const std::string& path) const;

 private:
  // key: manager + "\n" + operation ("Apply" or "Update").
  std::map<std::string, std::set<std::string>> owned_;
};

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_FIELD_OWNERS_H_
