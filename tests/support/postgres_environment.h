// PostgresEnvironment: one throwaway PostgreSQL per test binary, as a
// GoogleTest global environment. In a test file (linked with gmock_main):
//
//   const auto* const kPostgres =
//       ::testing::AddGlobalTestEnvironment(new amsha::testing::PostgresEnvironment);
//   ... PostgresEnvironment::server().url() ...
//
// SetUp() starts the server (a failure there fails every test), TearDown()
// stops it and removes its directory. admin() is a superuser SqlSession
// over the Unix socket, for set-up. Single-threaded set-up; server() may
// be read from any thread once started.
#ifndef AMS_HA_TESTS_SUPPORT_POSTGRES_ENVIRONMENT_H_
#define AMS_HA_TESTS_SUPPORT_POSTGRES_ENVIRONMENT_H_

#include <gtest/gtest.h>

#include <memory>

#include "support/postgres_server.h"
#include "support/sql_session.h"

namespace amsha::testing {

class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  static PostgresServer& server();
  // A fresh superuser session (the server may have restarted since the last).
  static std::unique_ptr<SqlSession> Admin();

 private:
  static std::unique_ptr<PostgresServer>& Instance();
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_POSTGRES_ENVIRONMENT_H_
