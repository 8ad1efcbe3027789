// LabelSelector: the Kubernetes label selector grammar, parsed and matched.
//
// Used to validate `clusters[].podSelector` at start-up (a bad selector is a
// configuration error, not a watch that silently matches nothing) and to
// count which pods a Service selects. The string is still passed to the API
// server as written. Supports equality (`a=b`, `a==b`, `a!=b`) and set-based
// requirements (`a in (x,y)`, `a notin (x)`, `a`, `!a`). Values; thread-safe.
#ifndef AMS_HA_KUBE_LABEL_SELECTOR_H_
#define AMS_HA_KUBE_LABEL_SELECTOR_H_

#include <string>
#include <vector>

#include "common/status.h"
#include "kube/kube_types.h"

namespace amsha {

// Label key: [prefix/]name; name at most 63 of [A-Za-z0-9._-], alphanumeric
// at both ends; prefix a DNS subdomain of at most 253 characters.
bool IsValidLabelKey(const std::string& key);
// Label value: empty, or at most 63 of [A-Za-z0-9._-], alphanumeric at both ends.
bool IsValidLabelValue(const std::string& value);

class LabelSelector {
 public:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };

  // Errors: kInvalidArgument naming the offending part, e.g.
  // `label selector "app in (a": missing ')' after the values of "app"`.
  static StatusOr<LabelSelector> Parse(const std::string& text);
  // The equality selector a Service uses.
  static LabelSelector FromMap(const Labels& labels);

  bool Matches(const Labels& labels) const;
  bool Empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_LABEL_SELECTOR_H_
