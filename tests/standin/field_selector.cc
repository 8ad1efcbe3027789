#include "standin/field_selector.h"

namespace amsha::standin {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

StatusOr<FieldSelector> FieldSelector::Parse(const std::string& text) {
  FieldSelector sel;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string term = Trim(text.substr(start, comma == std::string::npos ? comma : comma - start));
    start = comma == std::string::npos ? text.size() : comma + 1;
    if (term.empty()) continue;
    Term t;
    size_t op = term.find("!=");
    size_t len = 2;
    t.equal = op == std::string::npos;
    if (t.equal) {
      op = term.find("==");
      if (op == std::string::npos) {
        op = term.find('=');
        len = 1;
      }
    }
    if (op == std::string::npos || op == 0) {
      return InvalidArgumentError("invalid selector: '" + term + "'; can't understand '" + term +
                                  "'");
    }
    std::string field = Trim(term.substr(0, op));
    t.value = Trim(term.substr(op + len));
    size_t dot_start = 0;
    while (true) {
      size_t dot = field.find('.', dot_start);
      t.path.push_back(field.substr(dot_start, dot == std::string::npos ? dot : dot - dot_start));
      if (dot == std::string::npos) break;
      dot_start = dot + 1;
    }
    sel.terms_.push_back(std::move(t));
  }
  return sel;
}

bool FieldSelector::Matches(const Json& obj) const {
  for (const auto& t : terms_) {
    const Json* cur = &obj;
    bool found = true;
    for (const auto& part : t.path) {
      if (!cur->is_object() || !cur->has_field(part)) {
        found = false;
        break;
      }
      cur = &cur->at(part);
    }
    std::string have;
    if (found) {
      if (cur->is_string()) {
        have = cur->as_string();
      } else if (!cur->is_null()) {
        have = cur->serialize();
      }
    }
    if ((have == t.value) != t.equal) return false;
  }
  return true;
}

std::string FieldSelector::RequiredValue(const std::string& field) const {
  for (const auto& t : terms_) {
    std::string joined;
    for (const auto& part : t.path) joined += (joined.empty() ? "" : ".") + part;
    if (t.equal && joined == field) return t.value;
  }
  return "";
}

}  // namespace amsha::standin
