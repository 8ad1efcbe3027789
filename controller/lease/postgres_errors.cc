#include "lease/postgres_errors.h"

#include <initializer_list>

#include "lease/lease_errors.h"

namespace amsha {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool Contains(const std::string& s, const char* needle) {
  return s.find(needle) != std::string::npos;
}

// From `needle` to the end of its line: the part of a libpq connection
// message that says what went wrong, without the "connection to server at
// ... failed: FATAL:" preamble.
std::string FromNeedle(const std::string& message, const char* needle) {
  size_t start = message.find(needle);
  if (start == std::string::npos) return "";
  size_t end = message.find('\n', start);
  return message.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// libpq's lines, trimmed and joined with "; " (one line per host tried).
std::string OneLine(const std::string& message) {
  std::string out;
  size_t pos = 0;
  while (pos <= message.size()) {
    size_t end = message.find('\n', pos);
    std::string line =
        message.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string SchemaOf(const std::string& table) {
  size_t dot = table.find('.');
  return dot == std::string::npos ? "public" : table.substr(0, dot);
}

std::string UserOr(const PostgresErrorContext& c) {
  return c.user.empty() ? "<controller user>" : c.user;
}

std::string InDatabase(const PostgresErrorContext& c) {
  return c.database.empty() ? "" : " in database " + Quoted(c.database);
}

Status PermissionDenied(const std::string& line, const PostgresErrorContext& c) {
  std::string who = " (user " + Quoted(UserOr(c)) + ", table " + Quoted(c.table) + ")";
  if (c.operation == PostgresErrorContext::Operation::kSchema) {
    return PermissionDeniedError(line + who + ": run GRANT CREATE ON SCHEMA " + SchemaOf(c.table) +
                                 " TO " + UserOr(c) + ", or run init-schema as the database owner");
  }
  if (Contains(line, "for schema")) {
    return PermissionDeniedError(line + who + ": run GRANT USAGE ON SCHEMA " + SchemaOf(c.table) +
                                 " TO " + UserOr(c));
  }
  return PermissionDeniedError(line + who + ": run GRANT SELECT, INSERT, UPDATE ON " + c.table +
                               " TO " + UserOr(c));
}

}  // namespace

std::string PrimaryErrorLine(const std::string& message) {
  std::string line = message.substr(0, message.find('\n'));
  for (const char* prefix : {"ERROR:", "FATAL:", "PANIC:"}) {
    if (StartsWith(line, prefix)) {
      line = line.substr(std::char_traits<char>::length(prefix));
      break;
    }
  }
  size_t first = line.find_first_not_of(' ');
  line = first == std::string::npos ? "" : line.substr(first);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

bool ConnectionSurvives(const std::string& sqlstate) {
  // 57014 statement timeout / cancel, 40001 serialization failure, 40P01
  // deadlock, 55P03 lock not available: the statement failed, the session is
  // fine. Everything else starts over on a new connection, which also forgets
  // prepared statements made against a table that has since changed.
  return sqlstate == "57014" || sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03";
}

Status StatusFromSqlError(const std::string& sqlstate, const std::string& message,
                          const PostgresErrorContext& c) {
  const std::string line = PrimaryErrorLine(message);
  const std::string cls = sqlstate.substr(0, 2);
  const std::string coded = line + " (SQLSTATE " + sqlstate + ")";

  if (sqlstate == "42P01") return MissingLeaseTableError(c.table, c.database);
  if (sqlstate == "3F000") {
    return FailedPreconditionError(line + InDatabase(c) + ": create schema " + SchemaOf(c.table) +
                                   " or use the default table ha_lease");
  }
  if (sqlstate == "3D000") {
    return FailedPreconditionError(line + ": create the database or fix database.url");
  }
  if (sqlstate == "42703" || sqlstate == "42804" || sqlstate == "42P10" || sqlstate == "23502") {
    return NotAmoroLeaseTableError(c.table, c.database, coded, "sql/postgres/ha_lease.sql");
  }
  if (sqlstate == "42501") return PermissionDenied(line, c);
  if (cls == "28") return BadCredentialsError(line);
  if (cls == "22") return ValueTooLongError(coded);
  if (sqlstate == "57014") return StatementTimeoutError(coded);
  if (sqlstate == "25006") return ReadOnlyDatabaseError(coded);
  if (cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58" || cls == "XX" ||
      sqlstate == "55P03" || sqlstate.empty()) {
    return UnavailableError(coded);
  }
  return InternalError(coded);
}

Status StatusFromConnectError(const std::string& message, const PostgresErrorContext& c) {
  std::string part = FromNeedle(message, "password authentication failed for user");
  if (!part.empty()) return BadCredentialsError(part);
  if (Contains(message, "no password supplied")) {
    return UnauthenticatedError(
        "the server wants a password and none was given: set database.passwordFile or "
        "AMS_HA_DB_PASSWORD");
  }
  part = FromNeedle(message, "role \"");
  if (!part.empty() && Contains(part, "does not exist")) {
    return UnauthenticatedError(part + ": check the user in database.url");
  }
  part = FromNeedle(message, "no pg_hba.conf entry");
  if (!part.empty()) {
    return PermissionDeniedError(part + ": allow this client in the server's pg_hba.conf");
  }
  part = FromNeedle(message, "permission denied for database");
  if (!part.empty()) {
    std::string database = c.database.empty() ? "<database>" : c.database;
    return PermissionDeniedError(part + ": run GRANT CONNECT ON DATABASE " + database + " TO " +
                                 UserOr(c));
  }
  part = FromNeedle(message, "database \"");
  if (!part.empty() && Contains(part, "does not exist")) {
    return FailedPreconditionError(part + ": create the database or fix database.url");
  }
  // TLS (database.tls): say which setting to look at.
  if (Contains(message, "certificate verify failed")) {
    return UnavailableError(
        "TLS: the database server's certificate is not signed by the CA in database.tls.caFile "
        "(sslrootcert; SSL error: certificate verify failed)");
  }
  part = FromNeedle(message, "server certificate for \"");
  if (!part.empty() && Contains(part, "does not match host name")) {
    return UnavailableError("TLS: " + part +
                            ": with sslmode verify-full the host in database.url must be a name "
                            "the server's certificate carries");
  }
  for (const char* file_problem :
       {"root certificate file", "could not open certificate file",
        "could not load private key file", "private key file", "could not read certificate file"}) {
    part = FromNeedle(message, file_problem);
    if (!part.empty()) {
      return InvalidArgumentError("TLS: " + part +
                                  " (database.tls.caFile, certFile, keyFile; a key must not be "
                                  "readable by group or others unless owned by root)");
    }
  }
  part = FromNeedle(message, "connection requires a valid client certificate");
  if (part.empty()) part = FromNeedle(message, "certificate authentication failed for user");
  if (!part.empty()) {
    return UnauthenticatedError("TLS: " + part +
                                ": set database.tls.certFile and keyFile to a client certificate "
                                "the server accepts");
  }
  for (const char* bad_config :
       {"invalid connection option", "invalid URI", "missing \"=\"", "unterminated quoted string",
        "invalid integer value", "invalid port number", "invalid sslmode",
        "invalid percent-encoded token", "unexpected spaces found",
        "end of string reached when looking for matching"}) {
    if (Contains(message, bad_config)) {
      return InvalidArgumentError("database.url is not a valid libpq connection string: " +
                                  OneLine(message));
    }
  }
  return UnavailableError("cannot connect to the database: " + OneLine(message));
}

}  // namespace amsha
