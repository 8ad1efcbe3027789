// FieldSelector: `metadata.name=ams-0,involvedObject.kind!=Pod` style field
// selectors (=, == and !=, ANDed), compared as strings against the object's
// dotted field path. Unlike the API server it accepts any field path, which
// is enough for kubectl (`delete --wait` watches metadata.name) and for
// clients filtering Events. Callers: the API handler. Thread-compatible.
#ifndef AMS_HA_TESTS_STANDIN_FIELD_SELECTOR_H_
#define AMS_HA_TESTS_STANDIN_FIELD_SELECTOR_H_

#include <string>
#include <vector>

#include "common/status.h"
#include "standin/json_util.h"

namespace amsha::standin {

class FieldSelector {
 public:
  static StatusOr<FieldSelector> Parse(const std::string& text);
  bool Matches(const Json& obj) const;
  // The value `field` (dotted, "metadata.name") must equal, when a term
  // requires it; "" otherwise (fields.Selector.RequiresExactMatch).
  std::string RequiredValue(const std::string& field) const;

 private:
  struct Term {
    std::vector<std::string> path;
    bool equal;
    std::string value;
  };
  std::vector<Term> terms_;
};

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_FIELD_SELECTOR_H_
