#include "lease/mysql_errors.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

MysqlErrorContext LeaseContext() {
  MysqlErrorContext c;
  c.table = "ha_lease";
  c.database = "amsha";
  c.user = "ams";
  return c;
}

MysqlErrorContext SchemaContext() {
  MysqlErrorContext c = LeaseContext();
  c.operation = MysqlErrorContext::Operation::kSchema;
  return c;
}

TEST(StatusFromMysqlErrorTest, MissingTableNamesInitSchemaAsOnPostgres) {
  Status s = StatusFromMysqlError(1146, "Table 'amsha.ha_lease' doesn't exist", LeaseContext());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "table \"ha_lease\" does not exist in database \"amsha\": run 'ams-ha-controller "
            "init-schema --config FILE'");
}

TEST(StatusFromMysqlErrorTest, AnotherTableOfThatNameIsNotAmoros) {
  Status s = StatusFromMysqlError(1054, "Unknown column 'node_ip' in 'field list'", LeaseContext());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("compare it with sql/mysql/ha_lease.sql"), std::string::npos);
}

TEST(StatusFromMysqlErrorTest, CredentialsAndPrivilegesAreFatalAndNameTheFix) {
  Status auth = StatusFromMysqlError(
      1045, "Access denied for user 'ams'@'10.0.0.1' (using password: YES)", LeaseContext());
  EXPECT_EQ(auth.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(auth.message().find("AMS_HA_DB_PASSWORD"), std::string::npos);
  Status db = StatusFromMysqlError(1044, "Access denied for user 'ams'@'%' to database 'amsha'",
                                   LeaseContext());
  EXPECT_EQ(db.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(db.message().find("GRANT SELECT, INSERT, UPDATE ON `amsha`.* TO 'ams'@'%'"),
            std::string::npos);
  Status table = StatusFromMysqlError(1142, "UPDATE command denied", LeaseContext());
  EXPECT_EQ(table.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(table.message().find("ON `amsha`.`ha_lease`"), std::string::npos);
  Status create = StatusFromMysqlError(1142, "CREATE command denied", SchemaContext());
  EXPECT_NE(create.message().find("GRANT CREATE ON `amsha`.*"), std::string::npos);
  EXPECT_EQ(StatusFromMysqlError(1049, "Unknown database 'x'", LeaseContext()).code(),
            StatusCode::kFailedPrecondition);
}

TEST(StatusFromMysqlErrorTest, TransientFailuresAreUnavailable) {
  for (unsigned int errnum : {1205u, 1213u, 1969u, 3024u, 1290u, 1836u, 1040u, 1053u, 1927u, 2002u,
                              2003u, 2006u, 2013u, 2026u}) {
    EXPECT_EQ(StatusFromMysqlError(errnum, "x", LeaseContext()).code(), StatusCode::kUnavailable)
        << errnum;
  }
  EXPECT_NE(StatusFromMysqlError(1969, "Query execution was interrupted (max_statement_time)",
                                 LeaseContext())
                .message()
                .find("statement timeout"),
            std::string::npos);
}

TEST(StatusFromMysqlErrorTest, TlsFailuresNameTheTlsSettings) {
  Status s = StatusFromMysqlError(
      2026, "TLS/SSL error: self-signed certificate in certificate chain", LeaseContext());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("check database.tls.caFile"), std::string::npos) << s.message();
}

TEST(StatusFromMysqlErrorTest, ValuesTooLongAreInvalidArguments) {
  EXPECT_EQ(StatusFromMysqlError(1406, "Data too long for column 'node_id'", LeaseContext()).code(),
            StatusCode::kInvalidArgument);
}

TEST(StatusFromMysqlErrorTest, UnknownErrorsAreInternal) {
  EXPECT_EQ(StatusFromMysqlError(1064, "syntax", LeaseContext()).code(), StatusCode::kInternal);
}

TEST(MysqlConnectionSurvivesTest, OnlyCleanStatementFailuresKeepTheSession) {
  for (unsigned int errnum : {1205u, 1213u, 1969u, 3024u, 1406u}) {
    EXPECT_TRUE(MysqlConnectionSurvives(errnum)) << errnum;
  }
  for (unsigned int errnum : {1146u, 1045u, 1927u, 2006u, 2013u, 1064u}) {
    EXPECT_FALSE(MysqlConnectionSurvives(errnum)) << errnum;
  }
}

}  // namespace
}  // namespace amsha
