#include "cli/cli.h"

#include <iostream>
#include <string>

namespace amsha {
namespace {

constexpr char kUsage[] =
    "Usage: ams-ha-controller <command> [flags]\n"
    "\n"
    "Commands:\n"
    "  run          --config FILE   run the controller\n"
    "  check-config --config FILE   validate the configuration and exit\n"
    "  init-schema  --config FILE   create the ha_lease table if it does not exist\n"
    "\n"
    "Flags:\n"
    "  --help       show this help\n"
    "  --version    print the version\n";

}  // namespace

int RunCli(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "ams-ha-controller: missing command; see --help\n";
    return kExitUsage;
  }
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (command == "--version" || command == "version") {
    std::cout << "ams-ha-controller " << AMS_HA_VERSION << "\n";
    return kExitOk;
  }
  std::cerr << "ams-ha-controller: unknown command '" << command << "'; see --help\n";
  return kExitUsage;
}

}  // namespace amsha
