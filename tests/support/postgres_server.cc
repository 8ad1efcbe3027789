#include "support/postgres_server.h"

#include <utility>

namespace amsha::testing {

PostgresServer::PostgresServer(std::string password)
    : server_({"pgtmp", "PGTMP_PASSWORD", "ams-pg-", ""}, std::move(password)) {}

PostgresServer::~PostgresServer() = default;

Status PostgresServer::Start() {
  if (server_.running()) return Status::Ok();
  StatusOr<std::string> output = server_.Start();
  if (!output.ok()) return output.status();
  url_ = ScriptedServer::ValueOf(*output, "url");
  admin_url_ = ScriptedServer::ValueOf(*output, "admin_url");
  if (url_.empty() || admin_url_.empty()) {
    return InternalError("pgtmp printed no url= or admin_url= line: " + *output);
  }
  return Status::Ok();
}

Status PostgresServer::Stop() { return server_.Stop(); }

PostgresConnectionOptions PostgresServer::StoreOptions() const {
  PostgresConnectionOptions options;
  options.url = url_;
  options.password = password();
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.statement_timeout = std::chrono::milliseconds(2000);
  return options;
}

}  // namespace amsha::testing
