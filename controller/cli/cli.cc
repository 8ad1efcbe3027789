#include "cli/cli.h"

#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"
#include "common/logging.h"

namespace amsha {
namespace {

constexpr char kUsage[] =
    "Usage: ams-ha-controller <command> [flags]\n"
    "\n"
    "Commands:\n"
    "  run          --config FILE   run the controller\n"
    "  check-config --config FILE   validate the configuration and exit\n"
    "  init-schema  --config FILE   create the ha_lease table if it does not exist\n"
    "  status       --config FILE [--output text|json]\n"
    "                               mode, leader, lease, gate and pods of each cluster;\n"
    "                               exits 3 no unexpired leader, 4 nothing routed,\n"
    "                               5 the routed pod is not the lease holder,\n"
    "                               6 a cluster could not be checked\n"
    "  switchover   --config FILE --cluster NAME --to POD [--timeout 30s]\n"
    "                               planned hand-over through the active controller\n"
    "  gate         --config FILE --cluster NAME -- AMS-COMMAND [ARGS...]\n"
    "                               in an AMS pod: run AMS only while this pod leads\n"
    "                               (needs POD_NAME, POD_UID, POD_IP)\n"
    "\n"
    "Common flags:\n"
    "  --config FILE                the controller configuration (YAML)\n"
    "  --log-format text|json       log line format (default text)\n"
    "  --log-level debug|info|warn|error\n"
    "                               (default info)\n"
    "  --help                       show this help\n"
    "  --version                    print the version\n"
    "\n"
    "Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error;\n"
    "gate: AMS's own status when AMS exits or is stopped by a signal, 3 when the\n"
    "gate stopped AMS because this pod no longer leads.\n";

struct Command {
  const char* name;
  int (*run)(const ParsedFlags&);
  std::set<std::string> flags;
  std::set<std::string> switches;
  bool needs_config;
};

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"run", RunController, {"config"}, {}, true},
      {"check-config", RunCheckConfig, {"config"}, {}, true},
      {"init-schema", RunInitSchema, {"config"}, {}, true},
      {"status", RunStatus, {"config", "output"}, {}, true},
      {"switchover", RunSwitchover, {"config", "cluster", "to", "timeout"}, {}, true},
      {"gate", RunGate, {"config", "cluster"}, {}, true},
  };
  return commands;
}

int UsageError(const std::string& message) {
  std::cerr << "ams-ha-controller: " << message << "; see ams-ha-controller --help\n";
  return kExitUsage;
}

}  // namespace

int RunCli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return UsageError("missing command");
  const std::string command = args[0];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "--version" || command == "version") {
    std::cout << "ams-ha-controller " << AMS_HA_VERSION << "\n";
    return kExitOk;
  }
  for (const Command& c : Commands()) {
    if (command != c.name) continue;
    std::set<std::string> flags = c.flags;
    flags.insert({"log-format", "log-level"});
    std::set<std::string> switches = c.switches;
    switches.insert("help");
    auto parsed = ParseFlags({args.begin() + 1, args.end()}, flags, switches);
    if (!parsed.ok()) return UsageError(command + ": " + parsed.status().message());
    if (parsed->Has("help")) {
      std::cout << kUsage;
      return kExitOk;
    }
    LogFormat format = LogFormat::kText;
    if (!ParseLogFormat(parsed->Get("log-format", "text"), &format)) {
      return UsageError("--log-format must be text or json");
    }
    LogLevel level = LogLevel::kInfo;
    if (!ParseLogLevel(parsed->Get("log-level", "info"), &level)) {
      return UsageError("--log-level must be debug, info, warn or error");
    }
    SetLogFormat(format);
    SetLogLevel(level);
    if (c.needs_config && parsed->Get("config").empty()) {
      return UsageError(command + ": --config FILE is required");
    }
    return c.run(*parsed);
  }
  return UsageError("unknown command '" + command + "'");
}

}  // namespace amsha
