// PostgreSQL failures -> Status: pure functions behind PostgresLeaseStore.
//
// The adapter (postgres_lease_store.cc) catches libpqxx's exceptions and
// hands their SQLSTATE and text here, so that the rules are unit-tested
// without a server. Environment errors get a message that names the fix,
// transient ones become kUnavailable (retry with backoff). Thread-safe.
#ifndef AMS_HA_LEASE_POSTGRES_ERRORS_H_
#define AMS_HA_LEASE_POSTGRES_ERRORS_H_

#include <string>

#include "common/status.h"

namespace amsha {

// What the failing call was about, for messages. Empty fields are unknown.
struct PostgresErrorContext {
  enum class Operation { kLease, kSchema };
  Operation operation = Operation::kLease;
  std::string table;     // as configured: "ha_lease" or "schema.table"
  std::string database;  // from the connection, when there is one
  std::string user;
};

// A statement failed with `sqlstate` (five characters, "" when unknown) and
// the server's `message` ("ERROR:  ..." and more lines are fine):
//   42P01 undefined table          kFailedPrecondition: run init-schema
//   42703/42804/42P10/23502        kFailedPrecondition: not Amoro's ha_lease
//   3F000 / 3D000                  kFailedPrecondition: schema / database missing
//   42501 insufficient privilege   kPermissionDenied: names the GRANT
//   28xxx                          kUnauthenticated
//   22xxx data exception           kInvalidArgument (e.g. node_id too long)
//   08, 40, 53, 55P03, 57, 58, XX,
//   25006 (read-only: a standby)   kUnavailable
//   anything else                  kInternal
Status StatusFromSqlError(const std::string& sqlstate, const std::string& message,
                          const PostgresErrorContext& context);

// Connecting failed with libpq's `message` (no SQLSTATE is available then):
// wrong password or unknown role -> kUnauthenticated, pg_hba.conf or CONNECT
// privilege -> kPermissionDenied, missing database -> kFailedPrecondition,
// a malformed URL -> kInvalidArgument, anything else (refused, timed out,
// the server starting or stopping) -> kUnavailable. Matches libpq's English
// texts; with a translated server a failure falls back to kUnavailable.
Status StatusFromConnectError(const std::string& message, const PostgresErrorContext& context);

// True when the connection stays usable after this SQLSTATE (the statement
// failed cleanly: timeout, serialization failure, lock not available).
// Anything else drops the connection so that the next call starts afresh.
bool ConnectionSurvives(const std::string& sqlstate);

// "ERROR:  relation \"x\" does not exist\nLINE 1: ..." -> "relation \"x\" does not exist".
std::string PrimaryErrorLine(const std::string& message);

}  // namespace amsha

#endif  // AMS_HA_LEASE_POSTGRES_ERRORS_H_
