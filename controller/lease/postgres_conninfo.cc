#include "lease/postgres_conninfo.h"

#include <cstdio>

namespace amsha {
namespace {

bool IsIdentifierPart(const std::string& s) {
  if (s.empty()) return false;
  if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  for (char c : s) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t pos = text->find(from); pos != std::string::npos;
       pos = text->find(from, pos + to.size())) {
    text->replace(pos, from.size(), to);
  }
}

}  // namespace

bool IsPostgresUri(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string PercentEncode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string QuoteConnInfoValue(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string ComposeConnInfo(const std::string& url, const std::string& password,
                            std::chrono::milliseconds connect_timeout) {
  // Whole seconds, rounded up: a 1500 ms budget must not become 1 s.
  long long seconds = (connect_timeout.count() + 999) / 1000;
  if (seconds < 1) seconds = 1;

  if (IsPostgresUri(url)) {
    std::string out = url;
    size_t query = out.find('?');
    if (query == std::string::npos) {
      out += '?';
    } else if (out.back() != '?' && out.back() != '&') {
      out += '&';
    }
    if (!password.empty()) out += "password=" + PercentEncode(password) + "&";
    out += "connect_timeout=" + std::to_string(seconds);
    out += "&fallback_application_name=" + PercentEncode(kPostgresApplicationName);
    return out;
  }

  std::string out = url;
  auto add = [&out](const std::string& key, const std::string& value) {
    if (!out.empty() && out.back() != ' ') out += ' ';
    out += key + "=" + QuoteConnInfoValue(value);
  };
  if (!password.empty()) add("password", password);
  add("connect_timeout", std::to_string(seconds));
  add("fallback_application_name", kPostgresApplicationName);
  return out;
}

Status ValidateTableName(const std::string& table) {
  std::string schema;
  std::string name = table;
  size_t dot = table.find('.');
  if (dot != std::string::npos) {
    schema = table.substr(0, dot);
    name = table.substr(dot + 1);
    if (!IsIdentifierPart(schema) || schema.size() > 63) {
      return InvalidArgumentError("lease table \"" + table +
                                  "\": the schema must match [a-z_][a-z0-9_]* (at most 63 "
                                  "characters)");
    }
  }
  if (!IsIdentifierPart(name) || name.size() > 52) {
    return InvalidArgumentError("lease table \"" + table +
                                "\": the table name must match [a-z_][a-z0-9_]* (at most 52 "
                                "characters), optionally after \"schema.\"");
  }
  return Status::Ok();
}

std::string QuoteTableName(const std::string& table) {
  size_t dot = table.find('.');
  if (dot == std::string::npos) return "\"" + table + "\"";
  return "\"" + table.substr(0, dot) + "\".\"" + table.substr(dot + 1) + "\"";
}

std::string UnqualifiedTableName(const std::string& table) {
  size_t dot = table.find('.');
  return dot == std::string::npos ? table : table.substr(dot + 1);
}

std::string RedactSecret(std::string text, const std::string& secret) {
  if (secret.size() < 3) return text;
  const std::string mask = "****";
  ReplaceAll(&text, secret, mask);
  ReplaceAll(&text, PercentEncode(secret), mask);
  std::string quoted = QuoteConnInfoValue(secret);
  ReplaceAll(&text, quoted.substr(1, quoted.size() - 2), mask);
  return text;
}

}  // namespace amsha
