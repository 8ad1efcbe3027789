// MariaDbEnvironment: one throwaway MariaDB per test binary, as a GoogleTest
// global environment (the twin of PostgresEnvironment):
//
//   const auto* const kMaria =
//       ::testing::AddGlobalTestEnvironment(new amsha::testing::MariaDbEnvironment);
//
// SetUp() starts the server (a failure there fails every test), TearDown()
// stops it. Admin() is a root MysqlSession over the Unix socket.
#ifndef AMS_HA_TESTS_SUPPORT_MARIADB_ENVIRONMENT_H_
#define AMS_HA_TESTS_SUPPORT_MARIADB_ENVIRONMENT_H_

#include <gtest/gtest.h>

#include <memory>

#include "support/mariadb_server.h"
#include "support/mysql_session.h"

namespace amsha::testing {

class MariaDbEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  static MariaDbServer& server();
  // A fresh root session (the server may have restarted since the last).
  static std::unique_ptr<MysqlSession> Admin();

 private:
  static std::unique_ptr<MariaDbServer>& Instance();
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_MARIADB_ENVIRONMENT_H_
