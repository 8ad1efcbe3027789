#include "support/scripted_server.h"

#include <filesystem>
#include <sstream>
#include <utility>

#include "support/test_env.h"

namespace amsha::testing {
namespace {

// For /bin/sh: 'value' with embedded quotes closed and reopened.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

ScriptedServer::ScriptedServer(ScriptedServerSpec spec, std::string password)
    : spec_(std::move(spec)), password_(std::move(password)) {}

ScriptedServer::~ScriptedServer() {
  if (running_) Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string ScriptedServer::ValueOf(const std::string& output, const std::string& key) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

std::string ScriptedServer::ScriptDir() const {
  return spec_.data_subdir.empty() ? dir_ : dir_ + "/" + spec_.data_subdir;
}

Status ScriptedServer::Run(const std::string& args, std::string* output) const {
  // The scripts drop LD_PRELOAD and FAKETIME themselves; `env -u` also
  // keeps them off the shell that runs them.
  const std::string command = "env -u LD_PRELOAD -u FAKETIME " + spec_.password_env + "=" +
                              ShellQuote(password_) + extra_env_ + " bash " +
                              ShellQuote(SourceDir() + "/tests/support/" + spec_.script) + " " +
                              args;
  const int rc = RunCommand(command, output);
  if (rc != 0) {
    return UnavailableError(spec_.script + " " + args + " failed (exit " + std::to_string(rc) +
                            "): " + *output);
  }
  return Status::Ok();
}

StatusOr<std::string> ScriptedServer::Start() {
  std::string output;
  if (!initialized_) {
    Status status;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
      }
      dir_ = MakeTempDir(spec_.dir_prefix);
      port_ = FreeLoopbackPort();
      output.clear();
      status = Run("start " + ShellQuote(ScriptDir()) + " " + std::to_string(port_), &output);
      if (status.ok() || output.find("did not start") == std::string::npos) break;
    }
    if (!status.ok()) return status;
    initialized_ = true;
  } else {
    Status status = Run("start " + ShellQuote(ScriptDir()) + " " + std::to_string(port_), &output);
    if (!status.ok()) return status;
  }
  running_ = true;
  return output;
}

Status ScriptedServer::Stop() {
  if (!running_) return Status::Ok();
  std::string output;
  Status status = Run("stop " + ShellQuote(ScriptDir()), &output);
  if (status.ok()) running_ = false;
  return status;
}

}  // namespace amsha::testing
