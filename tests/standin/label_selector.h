// LabelSelector: the Kubernetes label selector grammar, parsed once and
// matched against a pod's or service's labels.
//
//   app=ams,tier!=db            equality (=, ==) and inequality (!=)
//   env in (prod, qa),x notin (a)  set-based
//   leader, !draining           exists / does not exist
//   replicas>1, replicas<3      integer comparisons (gt / lt)
// Requirements are ANDed; whitespace around tokens is ignored; an empty
// selector matches everything. Keys and values are validated like the API
// server does (qualified names, values of at most 63 characters).
// Callers: the stand-in's list/watch handlers, Service routing and the
// selector record. Thread-compatible value.
#ifndef AMS_HA_TESTS_STANDIN_LABEL_SELECTOR_H_
#define AMS_HA_TESTS_STANDIN_LABEL_SELECTOR_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace amsha::standin {

using LabelMap = std::map<std::string, std::string>;

enum class SelectorOp { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };

struct Requirement {
  std::string key;
  SelectorOp op;
  std::set<std::string> values;
};

class LabelSelector {
 public:
  // Matches everything.
  LabelSelector() = default;

  // kInvalidArgument with the position and reason when `text` is malformed.
  static StatusOr<LabelSelector> Parse(const std::string& text);
  // A Service's selector: every key=value must hold (an empty map matches
  // nothing, as a Service without selector routes to no pod).
  static LabelSelector FromMap(const LabelMap& map);

  bool Matches(const LabelMap& labels) const;
  bool Empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
  bool match_nothing_ = false;
};

// Validation used by the parser and by the stand-in's writes.
bool IsValidLabelKey(const std::string& key);
bool IsValidLabelValue(const std::string& value);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_LABEL_SELECTOR_H_
