#include "standin/label_selector.h"

#include <cctype>
#include <cstdlib>

namespace amsha::standin {
namespace {

enum class Tok { kEnd, kIdent, kComma, kOpen, kClose, kNot, kEq, kDoubleEq, kNotEq, kGt, kLt };

struct Token {
  Tok kind;
  std::string text;
  size_t pos;
};

bool IsSpecial(char c) {
  return c == '!' || c == '=' || c == ',' || c == '(' || c == ')' || c == '<' || c == '>';
}

std::vector<Token> Lex(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    size_t start = i;
    bool next_eq = i + 1 < s.size() && s[i + 1] == '=';
    switch (c) {
      case ',':
        out.push_back({Tok::kComma, ",", start});
        ++i;
        continue;
      case '(':
        out.push_back({Tok::kOpen, "(", start});
        ++i;
        continue;
      case ')':
        out.push_back({Tok::kClose, ")", start});
        ++i;
        continue;
      case '<':
        out.push_back({Tok::kLt, "<", start});
        ++i;
        continue;
      case '>':
        out.push_back({Tok::kGt, ">", start});
        ++i;
        continue;
      case '!':
        out.push_back({next_eq ? Tok::kNotEq : Tok::kNot, next_eq ? "!=" : "!", start});
        i += next_eq ? 2 : 1;
        continue;
      case '=':
        out.push_back({next_eq ? Tok::kDoubleEq : Tok::kEq, next_eq ? "==" : "=", start});
        i += next_eq ? 2 : 1;
        continue;
      default:
        break;
    }
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && !IsSpecial(s[i])) ++i;
    out.push_back({Tok::kIdent, s.substr(start, i - start), start});
  }
  out.push_back({Tok::kEnd, "", s.size()});
  return out;
}

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most 63 characters.
bool IsQualifiedNamePart(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// A DNS-1123 subdomain: lowercase alphanumerics, '-' and '.', at most 253.
bool IsDnsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (char c : s) {
    if (!lower_alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

bool ParseInt(const std::string& s, long long* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtoll(s.c_str(), &end, 10);
  return end && *end == '\0';
}

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text), toks_(Lex(text)) {}

  Status Run(std::vector<Requirement>* out) {
    if (Peek().kind == Tok::kEnd) return Status::Ok();
    while (true) {
      Requirement req;
      Status s = ParseRequirement(&req);
      if (!s.ok()) return s;
      out->push_back(std::move(req));
      const Token& t = Next();
      if (t.kind == Tok::kEnd) return Status::Ok();
      if (t.kind != Tok::kComma) return Error(t, "expected ',' or end of selector");
    }
  }

 private:
  const Token& Peek() const { return toks_[i_]; }
  const Token& Next() { return toks_[i_ < toks_.size() - 1 ? i_++ : i_]; }

  Status Error(const Token& t, const std::string& what) const {
    return InvalidArgumentError("unable to parse requirement: found '" + t.text + "' at " +
                                std::to_string(t.pos) + " in \"" + text_ + "\": " + what);
  }

  Status ParseKey(Requirement* req) {
    const Token& t = Next();
    if (t.kind != Tok::kIdent) return Error(t, "expected a label key");
    if (!IsValidLabelKey(t.text)) return Error(t, "invalid label key");
    req->key = t.text;
    return Status::Ok();
  }

  Status ParseRequirement(Requirement* req) {
    if (Peek().kind == Tok::kNot) {
      Next();
      req->op = SelectorOp::kDoesNotExist;
      return ParseKey(req);
    }
    Status s = ParseKey(req);
    if (!s.ok()) return s;
    const Token& op = Peek();
    switch (op.kind) {
      case Tok::kEnd:
      case Tok::kComma:
        req->op = SelectorOp::kExists;
        return Status::Ok();
      case Tok::kEq:
      case Tok::kDoubleEq:
      case Tok::kNotEq:
        Next();
        req->op = op.kind == Tok::kNotEq ? SelectorOp::kNotEquals : SelectorOp::kEquals;
        return ParseExactValue(req);
      case Tok::kGt:
      case Tok::kLt:
        Next();
        req->op = op.kind == Tok::kGt ? SelectorOp::kGt : SelectorOp::kLt;
        return ParseIntegerValue(req);
      case Tok::kIdent:
        if (op.text == "in" || op.text == "notin") {
          Next();
          req->op = op.text == "in" ? SelectorOp::kIn : SelectorOp::kNotIn;
          return ParseValueSet(req);
        }
        return Error(op, "expected an operator (=, ==, !=, in, notin, <, >)");
      default:
        return Error(op, "expected an operator (=, ==, !=, in, notin, <, >)");
    }
  }

  // `key=` followed by ',' or the end is the empty value.
  Status ParseExactValue(Requirement* req) {
    const Token& t = Peek();
    if (t.kind == Tok::kEnd || t.kind == Tok::kComma) {
      req->values.insert("");
      return Status::Ok();
    }
    Next();
    if (t.kind != Tok::kIdent) return Error(t, "expected a label value");
    if (!IsValidLabelValue(t.text)) return Error(t, "invalid label value");
    req->values.insert(t.text);
    return Status::Ok();
  }

  Status ParseIntegerValue(Requirement* req) {
    const Token& t = Next();
    long long unused;
    if (t.kind != Tok::kIdent || !ParseInt(t.text, &unused)) {
      return Error(t, "expected an integer");
    }
    req->values.insert(t.text);
    return Status::Ok();
  }

  // "(" [value] {"," [value]} ")", where a missing value is the empty one.
  Status ParseValueSet(Requirement* req) {
    const Token& open = Next();
    if (open.kind != Tok::kOpen) return Error(open, "expected '('");
    bool expect_value = true;
    bool any_token = false;
    while (true) {
      const Token& t = Next();
      if (t.kind == Tok::kClose) {
        if (expect_value && any_token) req->values.insert("");
        break;
      }
      any_token = true;
      if (t.kind == Tok::kComma) {
        if (expect_value) req->values.insert("");
        expect_value = true;
        continue;
      }
      if (t.kind != Tok::kIdent || !expect_value) return Error(t, "expected a value, ',' or ')'");
      if (!IsValidLabelValue(t.text)) return Error(t, "invalid label value");
      req->values.insert(t.text);
      expect_value = false;
    }
    if (req->values.empty()) {
      return Error(Peek(), "for 'in', 'notin' operators, values set can't be empty");
    }
    return Status::Ok();
  }

  std::string text_;
  std::vector<Token> toks_;
  size_t i_ = 0;
};

bool MatchesOne(const Requirement& r, const LabelMap& labels) {
  auto it = labels.find(r.key);
  bool has = it != labels.end();
  switch (r.op) {
    case SelectorOp::kEquals:
    case SelectorOp::kIn:
      return has && r.values.count(it->second) > 0;
    case SelectorOp::kNotEquals:
    case SelectorOp::kNotIn:
      return !has || r.values.count(it->second) == 0;
    case SelectorOp::kExists:
      return has;
    case SelectorOp::kDoesNotExist:
      return !has;
    case SelectorOp::kGt:
    case SelectorOp::kLt: {
      long long have, want;
      if (!has || r.values.empty() || !ParseInt(it->second, &have) ||
          !ParseInt(*r.values.begin(), &want)) {
        return false;
      }
      return r.op == SelectorOp::kGt ? have > want : have < want;
    }
  }
  return false;
}

}  // namespace

bool IsValidLabelKey(const std::string& key) {
  size_t slash = key.find('/');
  if (slash == std::string::npos) return IsQualifiedNamePart(key);
  return IsDnsSubdomain(key.substr(0, slash)) && IsQualifiedNamePart(key.substr(slash + 1));
}

bool IsValidLabelValue(const std::string& value) {
  return value.empty() || IsQualifiedNamePart(value);
}

StatusOr<LabelSelector> LabelSelector::Parse(const std::string& text) {
  LabelSelector sel;
  Status s = Parser(text).Run(&sel.requirements_);
  if (!s.ok()) return s;
  return sel;
}

LabelSelector LabelSelector::FromMap(const LabelMap& map) {
  LabelSelector sel;
  sel.match_nothing_ = map.empty();
  for (const auto& [k, v] : map) sel.requirements_.push_back({k, SelectorOp::kEquals, {v}});
  return sel;
}

bool LabelSelector::Matches(const LabelMap& labels) const {
  if (match_nothing_) return false;
  for (const auto& r : requirements_) {
    if (!MatchesOne(r, labels)) return false;
  }
  return true;
}

}  // namespace amsha::standin
