#include "kube/label_selector.h"

#include <algorithm>
#include <cctype>

namespace amsha {
namespace {

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// At most `max` of [A-Za-z0-9._-], alphanumeric at both ends.
bool IsQualifiedPart(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  if (!IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool IsDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (!std::islower(static_cast<unsigned char>(label.front())) &&
        !std::isdigit(static_cast<unsigned char>(label.front())))
      return false;
    if (!std::islower(static_cast<unsigned char>(label.back())) &&
        !std::isdigit(static_cast<unsigned char>(label.back())))
      return false;
    for (char c : label) {
      if (!std::islower(static_cast<unsigned char>(c)) &&
          !std::isdigit(static_cast<unsigned char>(c)) && c != '-')
        return false;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

// A hand-written scanner over the selector text.
class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  StatusOr<std::vector<LabelSelector::Requirement>> Run() {
    std::vector<LabelSelector::Requirement> out;
    SkipSpace();
    if (AtEnd()) return out;
    while (true) {
      auto req = ParseRequirement();
      if (!req.ok()) return req.status();
      out.push_back(std::move(req).value());
      SkipSpace();
      if (AtEnd()) break;
      if (text_[pos_] != ',') return Error("expected ',' between requirements");
      ++pos_;
      SkipSpace();
      if (AtEnd()) return Error("trailing ','");
    }
    return out;
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  void SkipSpace() {
    while (!AtEnd() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  Status Error(const std::string& what) const {
    return InvalidArgumentError("label selector \"" + text_ + "\": " + what + " (at column " +
                                std::to_string(pos_ + 1) + ")");
  }
  static bool IsWordChar(char c) {
    return IsAlnum(c) || c == '-' || c == '_' || c == '.' || c == '/';
  }
  std::string Word() {
    size_t start = pos_;
    while (!AtEnd() && IsWordChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  StatusOr<LabelSelector::Requirement> ParseRequirement() {
    LabelSelector::Requirement req;
    bool negated = false;
    if (text_[pos_] == '!') {
      negated = true;
      ++pos_;
      SkipSpace();
    }
    req.key = Word();
    if (req.key.empty()) return Error("expected a label key");
    if (!IsValidLabelKey(req.key)) return Error("invalid label key \"" + req.key + "\"");
    SkipSpace();
    if (negated) {
      req.op = LabelSelector::Op::kDoesNotExist;
      return req;
    }
    if (AtEnd() || text_[pos_] == ',') {
      req.op = LabelSelector::Op::kExists;
      return req;
    }
    if (text_.compare(pos_, 2, "==") == 0 || text_.compare(pos_, 2, "!=") == 0) {
      req.op = text_[pos_] == '!' ? LabelSelector::Op::kNotEquals : LabelSelector::Op::kEquals;
      pos_ += 2;
    } else if (text_[pos_] == '=') {
      req.op = LabelSelector::Op::kEquals;
      ++pos_;
    } else {
      std::string op = Word();
      if (op == "in") {
        req.op = LabelSelector::Op::kIn;
      } else if (op == "notin") {
        req.op = LabelSelector::Op::kNotIn;
      } else {
        return Error("expected =, ==, !=, in or notin after \"" + req.key + "\"");
      }
      return ParseSet(std::move(req));
    }
    SkipSpace();
    std::string value = Word();
    if (!IsValidLabelValue(value)) return Error("invalid label value \"" + value + "\"");
    req.values.push_back(value);
    return req;
  }

  StatusOr<LabelSelector::Requirement> ParseSet(LabelSelector::Requirement req) {
    SkipSpace();
    if (AtEnd() || text_[pos_] != '(') return Error("expected '(' after \"" + req.key + " in\"");
    ++pos_;
    while (true) {
      SkipSpace();
      std::string value = Word();
      if (!IsValidLabelValue(value)) return Error("invalid label value \"" + value + "\"");
      req.values.push_back(value);
      SkipSpace();
      if (AtEnd()) return Error("missing ')' after the values of \"" + req.key + "\"");
      if (text_[pos_] == ')') {
        ++pos_;
        break;
      }
      if (text_[pos_] != ',')
        return Error("expected ',' or ')' in the values of \"" + req.key + "\"");
      ++pos_;
    }
    return req;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

bool IsValidLabelValue(const std::string& value) {
  return value.empty() || IsQualifiedPart(value, 63);
}

bool IsValidLabelKey(const std::string& key) {
  size_t slash = key.find('/');
  if (slash == std::string::npos) return IsQualifiedPart(key, 63);
  if (key.find('/', slash + 1) != std::string::npos) return false;
  return IsDnsSubdomain(key.substr(0, slash)) && IsQualifiedPart(key.substr(slash + 1), 63);
}

StatusOr<LabelSelector> LabelSelector::Parse(const std::string& text) {
  auto reqs = Parser(text).Run();
  if (!reqs.ok()) return reqs.status();
  LabelSelector selector;
  selector.requirements_ = std::move(reqs).value();
  return selector;
}

LabelSelector LabelSelector::FromMap(const Labels& labels) {
  LabelSelector selector;
  for (const auto& [k, v] : labels) selector.requirements_.push_back({k, Op::kEquals, {v}});
  return selector;
}

bool LabelSelector::Matches(const Labels& labels) const {
  for (const Requirement& r : requirements_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    bool in_values =
        has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!in_values) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (in_values) return false;
        break;
      case Op::kExists:
        if (!has) return false;
        break;
      case Op::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

}  // namespace amsha
