// The wording of lease-store failures that every SQL engine shares: pure
// functions the engines' error classifiers (postgres_errors.h,
// mysql_errors.h) call once they know what went wrong from their own codes,
// so that "run init-schema" reads the same whichever database said it.
// Thread-safe (no state).
#ifndef AMS_HA_LEASE_LEASE_ERRORS_H_
#define AMS_HA_LEASE_LEASE_ERRORS_H_

#include <string>

#include "common/status.h"

namespace amsha {

// kFailedPrecondition: the lease table is missing; names init-schema.
// `database` may be empty (unknown).
Status MissingLeaseTableError(const std::string& table, const std::string& database);

// kFailedPrecondition: a table of that name exists but its columns are not
// Amoro's; `ddl_file` is sql/<engine>/ha_lease.sql.
Status NotAmoroLeaseTableError(const std::string& table, const std::string& database,
                               const std::string& detail, const std::string& ddl_file);

// kUnauthenticated: names where the password comes from.
Status BadCredentialsError(const std::string& detail);

// kInvalidArgument: a value longer than its column.
Status ValueTooLongError(const std::string& detail);

// kUnavailable: the server's own statement or lock-wait timeout struck.
Status StatementTimeoutError(const std::string& detail);

// kUnavailable: the server accepts no writes (a standby or read-only mode).
Status ReadOnlyDatabaseError(const std::string& detail);

}  // namespace amsha

#endif  // AMS_HA_LEASE_LEASE_ERRORS_H_
