#include "lease/postgres_errors.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

PostgresErrorContext LeaseContext() {
  PostgresErrorContext c;
  c.table = "ha_lease";
  c.database = "amsha";
  c.user = "ams";
  return c;
}

PostgresErrorContext SchemaContext() {
  PostgresErrorContext c = LeaseContext();
  c.operation = PostgresErrorContext::Operation::kSchema;
  return c;
}

TEST(StatusFromSqlErrorTest, MissingTableNamesInitSchema) {
  Status s = StatusFromSqlError("42P01",
                                "ERROR:  relation \"ha_lease\" does not exist\n"
                                "LINE 1: SELECT ... FROM \"ha_lease\"\n",
                                LeaseContext());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "table \"ha_lease\" does not exist in database \"amsha\": run 'ams-ha-controller "
            "init-schema --config FILE'");
}

TEST(StatusFromSqlErrorTest, MissingPrivilegeNamesTheTableAndTheGrant) {
  Status s =
      StatusFromSqlError("42501", "ERROR:  permission denied for table ha_lease\n", LeaseContext());
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "permission denied for table ha_lease (user \"ams\", table \"ha_lease\"): run GRANT "
            "SELECT, INSERT, UPDATE ON ha_lease TO ams");
}

TEST(StatusFromSqlErrorTest, MissingSchemaUsageNamesTheSchemaGrant) {
  PostgresErrorContext c = LeaseContext();
  c.table = "amoro.ha_lease";
  Status s = StatusFromSqlError("42501", "ERROR:  permission denied for schema amoro", c);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("GRANT USAGE ON SCHEMA amoro TO ams"), std::string::npos);
}

TEST(StatusFromSqlErrorTest, InitSchemaWithoutCreatePrivilegeNamesTheSchemaGrant) {
  Status s =
      StatusFromSqlError("42501", "ERROR:  permission denied for schema public", SchemaContext());
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("GRANT CREATE ON SCHEMA public TO ams"), std::string::npos);
}

TEST(StatusFromSqlErrorTest, ATableWithOtherColumnsIsAPreconditionNotABug) {
  for (const char* state : {"42703", "42804", "42P10", "23502"}) {
    Status s =
        StatusFromSqlError(state, "ERROR:  column \"node_ip\" does not exist", LeaseContext());
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << state;
    EXPECT_NE(s.message().find("sql/postgres/ha_lease.sql"), std::string::npos) << state;
  }
}

TEST(StatusFromSqlErrorTest, OutagesTimeoutsAndRaceAbortsAreUnavailable) {
  for (const char* state : {"57014", "57P01", "57P02", "57P03", "08006", "08001", "40001", "40P01",
                            "53300", "55P03", "58030", "XX000", "25006", ""}) {
    EXPECT_EQ(StatusFromSqlError(state, "ERROR:  x", LeaseContext()).code(),
              StatusCode::kUnavailable)
        << state;
  }
}

TEST(StatusFromSqlErrorTest, TooLongValuesAreInvalidArguments) {
  Status s = StatusFromSqlError("22001", "ERROR:  value too long for type character varying(256)",
                                LeaseContext());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("node_id 256"), std::string::npos);
}

TEST(StatusFromSqlErrorTest, UnexpectedStatesAreInternalWithTheirCode) {
  Status s = StatusFromSqlError("42601", "ERROR:  syntax error at or near \"x\"", LeaseContext());
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "syntax error at or near \"x\" (SQLSTATE 42601)");
}

TEST(ConnectionSurvivesTest, OnlyCleanStatementFailuresKeepTheConnection) {
  for (const char* state : {"57014", "40001", "40P01", "55P03"}) {
    EXPECT_TRUE(ConnectionSurvives(state)) << state;
  }
  for (const char* state : {"57P01", "08006", "42P01", "25006", "XX000", "", "42501"}) {
    EXPECT_FALSE(ConnectionSurvives(state)) << state;
  }
}

TEST(StatusFromConnectErrorTest, WrongPasswordNamesWhereThePasswordComesFrom) {
  Status s = StatusFromConnectError(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication "
      "failed for user \"ams\"\n",
      PostgresErrorContext{});
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(),
            "password authentication failed for user \"ams\": check database.passwordFile or "
            "AMS_HA_DB_PASSWORD");
}

TEST(StatusFromConnectErrorTest, AnUnknownCaNamesTheCaSetting) {
  Status s = StatusFromConnectError(
      "connection to server at \"localhost\" (::1), port 5432 failed: SSL error: certificate "
      "verify failed\nconnection to server at \"localhost\" (127.0.0.1), port 5432 failed: SSL "
      "error: certificate verify failed\n",
      PostgresErrorContext{});
  EXPECT_EQ(s.message(),
            "TLS: the database server's certificate is not signed by the CA in "
            "database.tls.caFile (sslrootcert; SSL error: certificate verify failed)");
}

TEST(StatusFromConnectErrorTest, AHostNameMismatchIsOneLineNamingBothNames) {
  Status s = StatusFromConnectError(
      "connection to server at \"127.0.0.1\", port 5432 failed: server certificate for "
      "\"localhost\" does not match host name \"127.0.0.1\"\n",
      PostgresErrorContext{});
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
  EXPECT_EQ(
      s.message().rfind(
          "TLS: server certificate for \"localhost\" does not match host name \"127.0.0.1\"", 0),
      0u)
      << s.message();
}

TEST(StatusFromConnectErrorTest, NoPasswordIsUnauthenticated) {
  Status s = StatusFromConnectError(
      "connection to server at \"db\" (10.0.0.1), port 5432 failed: fe_sendauth: no password "
      "supplied\n",
      PostgresErrorContext{});
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(s.message().find("AMS_HA_DB_PASSWORD"), std::string::npos);
}

TEST(StatusFromConnectErrorTest, UnknownRoleIsUnauthenticated) {
  Status s = StatusFromConnectError(
      "connection to server at \"db\", port 5432 failed: FATAL:  role \"amz\" does not exist\n",
      PostgresErrorContext{});
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "role \"amz\" does not exist: check the user in database.url");
}

TEST(StatusFromConnectErrorTest, HbaRejectionIsPermissionDenied) {
  Status s = StatusFromConnectError(
      "connection to server at \"db\", port 5432 failed: FATAL:  no pg_hba.conf entry for host "
      "\"10.1.2.3\", user \"ams\", database \"amsha\", no encryption\n",
      PostgresErrorContext{});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
}

TEST(StatusFromConnectErrorTest, MissingDatabaseIsAPrecondition) {
  Status s = StatusFromConnectError(
      "connection to server at \"db\", port 5432 failed: FATAL:  database \"amsa\" does not "
      "exist\n",
      PostgresErrorContext{});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "database \"amsa\" does not exist: create the database or fix database.url");
}

TEST(StatusFromConnectErrorTest, MalformedUrlIsInvalidArgument) {
  EXPECT_EQ(StatusFromConnectError("invalid connection option \"hots\"\n", {}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusFromConnectError("invalid URI query parameter: \"x\"\n", {}).code(),
            StatusCode::kInvalidArgument);
}

TEST(StatusFromConnectErrorTest, RefusedOrTimedOutIsUnavailableOnOneLine) {
  Status s = StatusFromConnectError(
      "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
      "\tIs the server running on that host and accepting TCP/IP connections?\n",
      PostgresErrorContext{});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
  EXPECT_NE(s.message().find("Connection refused"), std::string::npos);
  EXPECT_EQ(StatusFromConnectError("timeout expired\n", {}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromConnectError("FATAL:  the database system is starting up\n", {}).code(),
            StatusCode::kUnavailable);
}

TEST(PrimaryErrorLineTest, DropsSeverityAndFollowingLines) {
  EXPECT_EQ(PrimaryErrorLine("ERROR:  relation \"x\" does not exist\nLINE 1: select"),
            "relation \"x\" does not exist");
  EXPECT_EQ(PrimaryErrorLine("FATAL:  terminating connection\n"), "terminating connection");
  EXPECT_EQ(PrimaryErrorLine("server closed the connection unexpectedly\n\tmore"),
            "server closed the connection unexpectedly");
}

}  // namespace
}  // namespace amsha
