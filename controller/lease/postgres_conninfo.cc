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

std::string AppendConnParams(const std::string& url,
                             const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out = url;
  if (params.empty()) return out;
  if (IsPostgresUri(url)) {
    if (out.find('?') == std::string::npos) {
      out += '?';
    } else if (out.back() != '?' && out.back() != '&') {
      out += '&';
    }
    for (size_t i = 0; i < params.size(); ++i) {
      out += (i ? "&" : "") + params[i].first + "=" + PercentEncode(params[i].second);
    }
    return out;
  }
  for (const auto& [key, value] : params) {
    if (!out.empty() && out.back() != ' ') out += ' ';
    out += key + "=" + QuoteConnInfoValue(value);
  }
  return out;
}

std::string ComposeConnInfo(const std::string& url, const std::string& password,
                            std::chrono::milliseconds connect_timeout) {
  // Whole seconds, rounded up: a 1500 ms budget must not become 1 s.
  long long seconds = (connect_timeout.count() + 999) / 1000;
  if (seconds < 1) seconds = 1;
  std::vector<std::pair<std::string, std::string>> params;
  if (!password.empty()) params.emplace_back("password", password);
  params.emplace_back("connect_timeout", std::to_string(seconds));
  params.emplace_back("fallback_application_name", kPostgresApplicationName);
  return AppendConnParams(url, params);
}

std::vector<std::pair<std::string, std::string>> TlsConnParams(const std::string& mode,
                                                               const std::string& ca_file,
                                                               const std::string& cert_file,
                                                               const std::string& key_file) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string sslmode = mode.empty() && !ca_file.empty() ? "verify-full" : mode;
  if (!sslmode.empty()) params.emplace_back("sslmode", sslmode);
  if (!ca_file.empty()) params.emplace_back("sslrootcert", ca_file);
  if (!cert_file.empty()) params.emplace_back("sslcert", cert_file);
  if (!key_file.empty()) params.emplace_back("sslkey", key_file);
  return params;
}

std::string PasswordInConnUrl(const std::string& url) {
  if (IsPostgresUri(url)) {
    size_t start = url.find("://") + 3;
    size_t end = url.find_first_of("/?", start);
    std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
    size_t at = authority.rfind('@');
    if (at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos) {
      return "a password after the user name (user:password@)";
    }
    size_t query = url.find('?');
    if (query != std::string::npos) {
      std::string q = "&" + url.substr(query + 1);
      if (q.find("&password=") != std::string::npos) return "a password= query parameter";
    }
    return "";
  }
  // key=value form: a `password` keyword at the start or after white space.
  for (size_t at = url.find("password"); at != std::string::npos;
       at = url.find("password", at + 1)) {
    bool starts = at == 0 || url[at - 1] == ' ' || url[at - 1] == '\t';
    size_t next = url.find_first_not_of(" \t", at + 8);
    if (starts && next != std::string::npos && url[next] == '=') return "a password= keyword";
  }
  return "";
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
