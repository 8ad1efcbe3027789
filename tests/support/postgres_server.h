// PostgresServer: a throwaway PostgreSQL for one test binary, started
// through tests/support/pgtmp on a free loopback port in a fresh temp dir.
//
//   PostgresServer server;            // nothing runs yet
//   ASSERT_TRUE(server.Start().ok());
//   auto store = PostgresLeaseStore::Create(server.StoreOptions());
//
// The role `ams` (password password()) owns database `amsha`; admin_url()
// reaches it as the superuser over the trusted Unix socket (for set-up:
// roles, grants, pg_terminate_backend). Stop() and Start() restart the same
// data on the same port. The destructor stops the server and removes the
// directory. The server is started without LD_PRELOAD/FAKETIME (pgtmp drops
// them), so it keeps the real clock when the test runs under libfaketime.
// Use one per binary (PostgresEnvironment in postgres_environment.h), or
// per suite from SetUpTestSuite. Not thread-safe; url() etc. may be read
// from any thread once started.
#ifndef AMS_HA_TESTS_SUPPORT_POSTGRES_SERVER_H_
#define AMS_HA_TESTS_SUPPORT_POSTGRES_SERVER_H_

#include <string>

#include "common/status.h"
#include "lease/postgres_lease_store.h"
#include "support/scripted_server.h"

namespace amsha::testing {

class PostgresServer {
 public:
  explicit PostgresServer(std::string password = "ams-test-password");
  ~PostgresServer();

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The first call initializes the data directory and picks the port
  // (retrying another port if it was taken meanwhile); later calls restart
  // the same server. The error carries pgtmp's output.
  Status Start();
  // Fast shutdown: open sessions are cut.
  Status Stop();
  // Before the first Start(): PostgreSQL's own defaults (max_connections
  // 100) instead of the test tuning, as a user's server has them.
  void UseDefaultSettings() { server_.AddEnv("PGTMP_DEFAULT_SETTINGS=1"); }
  bool running() const { return server_.running(); }

  // postgresql://ams@127.0.0.1:PORT/amsha (no password in it).
  const std::string& url() const { return url_; }
  const std::string& password() const { return server_.password(); }
  // postgresql://postgres@/amsha?host=DIR/run&port=PORT: superuser, no password.
  const std::string& admin_url() const { return admin_url_; }
  int port() const { return server_.port(); }
  const std::string& dir() const { return server_.dir(); }

  // url() and password() with short timeouts suited to tests.
  PostgresConnectionOptions StoreOptions() const;

 private:
  ScriptedServer server_;
  std::string url_;
  std::string admin_url_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_POSTGRES_SERVER_H_
