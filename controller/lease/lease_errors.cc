#include "lease/lease_errors.h"

namespace amsha {
namespace {

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string InDatabase(const std::string& database) {
  return database.empty() ? "" : " in database " + Quoted(database);
}

}  // namespace

Status MissingLeaseTableError(const std::string& table, const std::string& database) {
  return FailedPreconditionError("table " + Quoted(table) + " does not exist" +
                                 InDatabase(database) +
                                 ": run 'ams-ha-controller init-schema --config FILE'");
}

Status NotAmoroLeaseTableError(const std::string& table, const std::string& database,
                               const std::string& detail, const std::string& ddl_file) {
  return FailedPreconditionError("table " + Quoted(table) + InDatabase(database) +
                                 " is not Amoro's ha_lease (" + detail + "): compare it with " +
                                 ddl_file);
}

Status BadCredentialsError(const std::string& detail) {
  return UnauthenticatedError(detail + ": check database.passwordFile or AMS_HA_DB_PASSWORD");
}

Status ValueTooLongError(const std::string& detail) {
  return InvalidArgumentError(detail +
                              ": cluster and service names and node_ip are at most 64 "
                              "characters, node_id 256");
}

Status StatementTimeoutError(const std::string& detail) {
  return UnavailableError("the database did not answer within the statement timeout (" + detail +
                          ")");
}

Status ReadOnlyDatabaseError(const std::string& detail) {
  return UnavailableError("the database is read-only, a standby? (" + detail + ")");
}

}  // namespace amsha
