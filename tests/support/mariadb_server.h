// MariaDbServer: a throwaway MariaDB for one test binary (or benchmark),
// started through tests/support/mariadbtmp on a free loopback port in a
// fresh temp dir; the MySQL twin of PostgresServer.
//
//   MariaDbServer server;
//   ASSERT_TRUE(server.Start().ok());
//   auto store = MysqlLeaseStore::Create(server.StoreOptions());
//
// The user `ams` (password password()) has every privilege on database
// `amsha`; admin_url() reaches it as root over the Unix socket (for set-up:
// users, grants, KILL). Stop() and Start() restart the same data on the same
// port; Freeze()/Thaw() stop and continue the server process (SIGSTOP), as a
// hung server. The server never inherits LD_PRELOAD/FAKETIME. The destructor
// stops it and removes the directory. Not thread-safe.
#ifndef AMS_HA_TESTS_SUPPORT_MARIADB_SERVER_H_
#define AMS_HA_TESTS_SUPPORT_MARIADB_SERVER_H_

#include <string>

#include "common/status.h"
#include "lease/sql_lease_store.h"
#include "support/scripted_server.h"

namespace amsha::testing {

class MariaDbServer {
 public:
  explicit MariaDbServer(std::string password = "ams-test-password");
  ~MariaDbServer();

  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  Status Start();
  Status Stop();
  bool running() const { return server_.running(); }
  Status Freeze();
  Status Thaw();

  // mysql://ams@127.0.0.1:PORT/amsha (no password in it).
  const std::string& url() const { return url_; }
  const std::string& password() const { return server_.password(); }
  // mysql://root@localhost/amsha?socket=DIR/mysqld.sock: no password.
  const std::string& admin_url() const { return admin_url_; }
  int port() const { return server_.port(); }

  // url() and password() with short timeouts suited to tests.
  LeaseDatabaseOptions StoreOptions() const;

 private:
  ScriptedServer server_;
  int pid_ = 0;
  std::string url_;
  std::string admin_url_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_MARIADB_SERVER_H_
