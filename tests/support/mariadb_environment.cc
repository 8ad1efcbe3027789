#include "support/mariadb_environment.h"

namespace amsha::testing {

std::unique_ptr<MariaDbServer>& MariaDbEnvironment::Instance() {
  static auto* server = new std::unique_ptr<MariaDbServer>();
  return *server;
}

void MariaDbEnvironment::SetUp() {
  Instance() = std::make_unique<MariaDbServer>();
  Status started = Instance()->Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
}

void MariaDbEnvironment::TearDown() { Instance().reset(); }

MariaDbServer& MariaDbEnvironment::server() { return *Instance(); }

std::unique_ptr<MysqlSession> MariaDbEnvironment::Admin() {
  auto session = MysqlSession::Open(server().admin_url());
  if (!session.ok()) {
    ADD_FAILURE() << "admin session: " << session.status().ToString();
    return nullptr;
  }
  return std::move(session).value();
}

}  // namespace amsha::testing
