#include "support/postgres_environment.h"

namespace amsha::testing {

std::unique_ptr<PostgresServer>& PostgresEnvironment::Instance() {
  static auto* server = new std::unique_ptr<PostgresServer>();
  return *server;
}

void PostgresEnvironment::SetUp() {
  Instance() = std::make_unique<PostgresServer>();
  Status started = Instance()->Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
}

void PostgresEnvironment::TearDown() { Instance().reset(); }

PostgresServer& PostgresEnvironment::server() { return *Instance(); }

std::unique_ptr<SqlSession> PostgresEnvironment::Admin() {
  StatusOr<std::unique_ptr<SqlSession>> session = SqlSession::Open(server().admin_url());
  if (!session.ok()) {
    ADD_FAILURE() << "admin session: " << session.status().ToString();
    return nullptr;
  }
  return std::move(session).value();
}

}  // namespace amsha::testing
