#include "support/mariadb_server.h"

#include <signal.h>

#include <cstdlib>
#include <utility>

namespace amsha::testing {

MariaDbServer::MariaDbServer(std::string password)
    : server_({"mariadbtmp", "MARIADBTMP_PASSWORD", "ams-maria-", "m"}, std::move(password)) {}

MariaDbServer::~MariaDbServer() = default;

Status MariaDbServer::Start() {
  if (server_.running()) return Status::Ok();
  StatusOr<std::string> output = server_.Start();
  if (!output.ok()) return output.status();
  url_ = ScriptedServer::ValueOf(*output, "url");
  const std::string socket = ScriptedServer::ValueOf(*output, "socket");
  pid_ = std::atoi(ScriptedServer::ValueOf(*output, "pid").c_str());
  if (url_.empty() || socket.empty() || pid_ <= 0) {
    return InternalError("mariadbtmp printed no url=, socket= or pid= line: " + *output);
  }
  admin_url_ = "mysql://root@localhost/amsha?socket=" + socket;
  return Status::Ok();
}

Status MariaDbServer::Stop() { return server_.Stop(); }

Status MariaDbServer::Freeze() {
  if (::kill(pid_, SIGSTOP) != 0) return InternalError("cannot SIGSTOP the server");
  return Status::Ok();
}

Status MariaDbServer::Thaw() {
  if (::kill(pid_, SIGCONT) != 0) return InternalError("cannot SIGCONT the server");
  return Status::Ok();
}

LeaseDatabaseOptions MariaDbServer::StoreOptions() const {
  LeaseDatabaseOptions options;
  options.url = url_;
  options.password = password();
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.statement_timeout = std::chrono::milliseconds(2000);
  return options;
}

}  // namespace amsha::testing
