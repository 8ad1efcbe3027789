#include "support/mariadb_server.h"

#include <signal.h>

#include <filesystem>
#include <sstream>
#include <utility>

#include "support/test_env.h"

namespace amsha::testing {
namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
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

MariaDbServer::MariaDbServer(std::string password) : password_(std::move(password)) {}

MariaDbServer::~MariaDbServer() {
  if (running_) Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

Status MariaDbServer::Run(const std::string& args, std::string* output) const {
  std::string command =
      "env -u LD_PRELOAD -u FAKETIME MARIADBTMP_PASSWORD=" + ShellQuote(password_) + " bash " +
      ShellQuote(SourceDir() + "/tests/support/mariadbtmp") + " " + args;
  int rc = RunCommand(command, output);
  if (rc != 0) {
    return UnavailableError("mariadbtmp " + args + " failed (exit " + std::to_string(rc) +
                            "): " + *output);
  }
  return Status::Ok();
}

Status MariaDbServer::Start() {
  if (running_) return Status::Ok();
  std::string output;
  if (!initialized_) {
    Status status;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
      }
      dir_ = MakeTempDir("ams-maria-");
      port_ = FreeLoopbackPort();
      status = Run("start " + ShellQuote(dir_ + "/m") + " " + std::to_string(port_), &output);
      if (status.ok() || output.find("did not start") == std::string::npos) break;
    }
    if (!status.ok()) return status;
    initialized_ = true;
  } else {
    Status status = Run("start " + ShellQuote(dir_ + "/m") + " " + std::to_string(port_), &output);
    if (!status.ok()) return status;
  }
  url_ = ValueOf(output, "url");
  std::string socket = ValueOf(output, "socket");
  pid_ = std::atoi(ValueOf(output, "pid").c_str());
  if (url_.empty() || socket.empty() || pid_ <= 0) {
    return InternalError("mariadbtmp printed no url=, socket= or pid= line: " + output);
  }
  admin_url_ = "mysql://root@localhost/amsha?socket=" + socket;
  running_ = true;
  return Status::Ok();
}

Status MariaDbServer::Stop() {
  if (!running_) return Status::Ok();
  std::string output;
  Status status = Run("stop " + ShellQuote(dir_ + "/m"), &output);
  if (status.ok()) running_ = false;
  return status;
}

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
  options.password = password_;
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.statement_timeout = std::chrono::milliseconds(2000);
  return options;
}

}  // namespace amsha::testing
