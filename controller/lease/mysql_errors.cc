#include "lease/mysql_errors.h"

#include "lease/lease_errors.h"

namespace amsha {
namespace {

std::string UserOr(const MysqlErrorContext& c) {
  return c.user.empty() ? "<controller user>" : "'" + c.user + "'@'%'";
}

std::string DatabaseOr(const MysqlErrorContext& c) {
  return c.database.empty() ? "<database>" : "`" + c.database + "`";
}

std::string TableOf(const MysqlErrorContext& c) {
  return c.table.find('.') == std::string::npos ? DatabaseOr(c) + ".`" + c.table + "`" : c.table;
}

}  // namespace

bool MysqlConnectionSurvives(unsigned int errnum) {
  switch (errnum) {
    case 1205:  // ER_LOCK_WAIT_TIMEOUT
    case 1213:  // ER_LOCK_DEADLOCK
    case 1969:  // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
    case 3024:  // ER_QUERY_TIMEOUT (MySQL max_execution_time)
    case 1406:  // ER_DATA_TOO_LONG
    case 1264:  // ER_WARN_DATA_OUT_OF_RANGE
    case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
      return true;
    default:
      return false;
  }
}

Status StatusFromMysqlError(unsigned int errnum, const std::string& message,
                            const MysqlErrorContext& c) {
  const std::string coded = message + " (MySQL error " + std::to_string(errnum) + ")";
  switch (errnum) {
    case 1146:  // ER_NO_SUCH_TABLE
      return MissingLeaseTableError(c.table, c.database);
    case 1054:  // ER_BAD_FIELD_ERROR
    case 1048:  // ER_BAD_NULL_ERROR
    case 1364:  // ER_NO_DEFAULT_FOR_FIELD
      return NotAmoroLeaseTableError(c.table, c.database, coded, "sql/mysql/ha_lease.sql");
    case 1049:  // ER_BAD_DB_ERROR
      return FailedPreconditionError(coded + ": create the database or fix database.url");
    case 1045:  // ER_ACCESS_DENIED_ERROR
    case 1698:  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
      return BadCredentialsError(coded);
    case 1044:  // ER_DBACCESS_DENIED_ERROR
      return PermissionDeniedError(
          coded + ": run GRANT SELECT, INSERT, UPDATE" +
          std::string(c.operation == MysqlErrorContext::Operation::kSchema ? ", CREATE" : "") +
          " ON " + DatabaseOr(c) + ".* TO " + UserOr(c));
    case 1142:  // ER_TABLEACCESS_DENIED_ERROR
    case 1143:  // ER_COLUMNACCESS_DENIED_ERROR
      if (c.operation == MysqlErrorContext::Operation::kSchema) {
        return PermissionDeniedError(coded + ": run GRANT CREATE ON " + DatabaseOr(c) + ".* TO " +
                                     UserOr(c) + ", or run init-schema as the database owner");
      }
      return PermissionDeniedError(coded + ": run GRANT SELECT, INSERT, UPDATE ON " + TableOf(c) +
                                   " TO " + UserOr(c));
    case 1130:  // ER_HOST_NOT_PRIVILEGED
      return PermissionDeniedError(coded + ": create the user for this client's host");
    case 1406:
    case 1264:
    case 1366:
      return ValueTooLongError(coded);
    case 1205:
    case 1969:
    case 3024:
      return StatementTimeoutError(coded);
    case 1290:  // ER_OPTION_PREVENTS_STATEMENT (--read-only)
    case 1792:  // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
    case 1836:  // ER_READ_ONLY_MODE
      return ReadOnlyDatabaseError(coded);
    case 1040:  // ER_CON_COUNT_ERROR
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1213:  // ER_LOCK_DEADLOCK
    case 1317:  // ER_QUERY_INTERRUPTED
    case 1927:  // ER_CONNECTION_KILLED
      return UnavailableError(coded);
    default:
      break;
  }
  if (errnum == 2026) {  // CR_SSL_CONNECTION_ERROR: say which settings to look at
    return UnavailableError("TLS: " + coded +
                            ": check database.tls.caFile (ssl-ca) against the CA that signed the "
                            "server's certificate, and that the certificate names the host in "
                            "database.url");
  }
  if ((errnum >= 1152 && errnum <= 1161) || (errnum >= 2000 && errnum < 3000)) {
    // Network errors and the client library's own (CR_*: cannot connect,
    // server has gone away, lost connection, TLS handshake failed).
    return UnavailableError("cannot reach the database: " + coded);
  }
  return InternalError(coded);
}

}  // namespace amsha
