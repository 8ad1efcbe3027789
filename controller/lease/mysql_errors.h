// MySQL/MariaDB failures -> Status: pure functions behind MysqlLeaseStore.
//
// The Connector/C adapter (mysql_lease_store.cc) hands the server's or the
// client library's error number and text here, so that the rules are
// unit-tested without a server. The wording shared with PostgreSQL comes
// from lease/lease_errors.h. Thread-safe.
#ifndef AMS_HA_LEASE_MYSQL_ERRORS_H_
#define AMS_HA_LEASE_MYSQL_ERRORS_H_

#include <string>

#include "common/status.h"

namespace amsha {

struct MysqlErrorContext {
  enum class Operation { kLease, kSchema };
  Operation operation = Operation::kLease;
  std::string table;     // as configured
  std::string database;  // from the URL
  std::string user;      // from the URL
};

// `errnum` is mysql_errno() (server errors 1000-1999 and 3000+, client
// library errors 2000-2999), `message` mysql_error():
//   1146 no such table                   kFailedPrecondition: run init-schema
//   1054/1048/1364 column mismatch       kFailedPrecondition: not Amoro's ha_lease
//   1049 unknown database                kFailedPrecondition
//   1045/1698 access denied (login)      kUnauthenticated
//   1044/1142/1143/1130 not granted      kPermissionDenied: names the GRANT
//   1406/1264/1366 value too long        kInvalidArgument
//   1205 lock wait, 1969/3024 statement
//   timeout, 1213 deadlock               kUnavailable (the session survives)
//   1290/1792/1836 read-only             kUnavailable
//   1040/1053/1152-1161/1317/1927, 2xxx  kUnavailable
//   anything else                        kInternal
Status StatusFromMysqlError(unsigned int errnum, const std::string& message,
                            const MysqlErrorContext& context);

// True when the session stays usable after `errnum` (the statement failed
// cleanly). Anything else drops the connection.
bool MysqlConnectionSurvives(unsigned int errnum);

}  // namespace amsha

#endif  // AMS_HA_LEASE_MYSQL_ERRORS_H_
