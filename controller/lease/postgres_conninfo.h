// Connection strings and identifiers for PostgresLeaseStore: pure functions,
// apart from the libpq adapter so that they are unit-tested without a server.
//
// The password never travels inside the configured URL: it comes from a
// Secret file (or AMS_HA_DB_PASSWORD) and is added here, escaped for the
// URL's own form (a libpq URI or a key=value string). Callers must never log
// the composed string; RedactSecret() is the last line of defence for
// messages that might quote it. Thread-safe (no state).
#ifndef AMS_HA_LEASE_POSTGRES_CONNINFO_H_
#define AMS_HA_LEASE_POSTGRES_CONNINFO_H_

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace amsha {

// The value of fallback_application_name, visible in pg_stat_activity.
inline constexpr char kPostgresApplicationName[] = "ams-ha-controller";

// True for libpq's URI form (postgresql:// or postgres://).
bool IsPostgresUri(const std::string& url);

// `url` plus the password (when non-empty), connect_timeout (whole seconds,
// rounded up; libpq waits at least 2) and fallback_application_name. For a
// URI they become percent-encoded query parameters (after `?` or `&`); for a
// key=value string, single-quoted values with \ and ' escaped. libpq keeps the
// last value of a repeated keyword, so these override the URL's own.
std::string ComposeConnInfo(const std::string& url, const std::string& password,
                            std::chrono::milliseconds connect_timeout);

// `url` with `params` added in its own form (URI query parameters, or
// key='value' pairs); libpq keeps the last value of a repeated keyword, so
// these override the URL's own.
std::string AppendConnParams(const std::string& url,
                             const std::vector<std::pair<std::string, std::string>>& params);

// The libpq keywords for TLS: sslmode (`mode`, or verify-full when a CA file
// is given without a mode), sslrootcert, sslcert, sslkey; empty values are
// left out.
std::vector<std::pair<std::string, std::string>> TlsConnParams(const std::string& mode,
                                                               const std::string& ca_file,
                                                               const std::string& cert_file,
                                                               const std::string& key_file);

// Where a password was written into `url` (user:password@ in a URI, or a
// password parameter), as a phrase for an error message; "" when none.
std::string PasswordInConnUrl(const std::string& url);

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string PercentEncode(const std::string& value);
// A key=value conninfo value: 'value' with backslash and quote escaped.
std::string QuoteConnInfoValue(const std::string& value);

// The lease table name is configuration, not data, yet it is spliced into SQL
// text (identifiers cannot be bound parameters). Accepted: `table` or
// `schema.table`, each part [a-z_][a-z0-9_]*, the table at most 52 characters
// so that index names (idx_<table>_expire) stay within PostgreSQL's 63.
// kInvalidArgument names the bad value otherwise.
Status ValidateTableName(const std::string& table);
// "ha_lease" -> "\"ha_lease\"", "s.t" -> "\"s\".\"t\"" (after validation).
std::string QuoteTableName(const std::string& table);
// The part after the schema: "s.t" -> "t".
std::string UnqualifiedTableName(const std::string& table);

// `text` with every occurrence of `secret` (and of its percent- and
// conninfo-escaped forms) replaced by "****". Secrets shorter than 3
// characters are left alone: masking them would garble any message.
std::string RedactSecret(std::string text, const std::string& secret);

}  // namespace amsha

#endif  // AMS_HA_LEASE_POSTGRES_CONNINFO_H_
