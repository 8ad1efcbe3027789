#include "support/postgres_server.h"

#include <filesystem>
#include <sstream>
#include <utility>

#include "support/test_env.h"

namespace amsha::testing {
namespace {

// For /bin/sh: 'value' with embedded quotes closed and reopened.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ValueOf(const std::string& output, const std::string& key) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

}  // namespace

PostgresServer::PostgresServer(std::string password) : password_(std::move(password)) {}

PostgresServer::~PostgresServer() {
  if (running_) Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

Status PostgresServer::RunPgtmp(const std::string& args, std::string* output) const {
  // pgtmp itself drops LD_PRELOAD and FAKETIME; `env -u` also keeps them off
  // the shell that runs it.
  std::string command = "env -u LD_PRELOAD -u FAKETIME PGTMP_PASSWORD=" + ShellQuote(password_) +
                        (default_settings_ ? " PGTMP_DEFAULT_SETTINGS=1" : "") + " bash " +
                        ShellQuote(SourceDir() + "/tests/support/pgtmp") + " " + args;
  int rc = RunCommand(command, output);
  if (rc != 0) {
    return UnavailableError("pgtmp " + args + " failed (exit " + std::to_string(rc) +
                            "): " + *output);
  }
  return Status::Ok();
}

Status PostgresServer::Start() {
  if (running_) return Status::Ok();
  std::string output;
  if (!initialized_) {
    // Only a port taken between FreeLoopbackPort() and the server's bind is
    // worth another try, in a fresh directory (pgtmp creates the role and
    // database only on a fresh one).
    Status status;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
      }
      dir_ = MakeTempDir("ams-pg-");
      port_ = FreeLoopbackPort();
      status = RunPgtmp("start " + ShellQuote(dir_) + " " + std::to_string(port_), &output);
      if (status.ok() || output.find("did not start") == std::string::npos) break;
    }
    if (!status.ok()) return status;
    initialized_ = true;
  } else {
    Status status = RunPgtmp("start " + ShellQuote(dir_) + " " + std::to_string(port_), &output);
    if (!status.ok()) return status;
  }
  url_ = ValueOf(output, "url");
  admin_url_ = ValueOf(output, "admin_url");
  if (url_.empty() || admin_url_.empty()) {
    return InternalError("pgtmp printed no url= or admin_url= line: " + output);
  }
  running_ = true;
  return Status::Ok();
}

Status PostgresServer::Stop() {
  if (!running_) return Status::Ok();
  std::string output;
  Status status = RunPgtmp("stop " + ShellQuote(dir_), &output);
  if (status.ok()) running_ = false;
  return status;
}

PostgresConnectionOptions PostgresServer::StoreOptions() const {
  PostgresConnectionOptions options;
  options.url = url_;
  options.password = password_;
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.statement_timeout = std::chrono::milliseconds(2000);
  return options;
}

}  // namespace amsha::testing
