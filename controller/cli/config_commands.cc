// check-config and init-schema.
#include <iostream>

#include "cli/cli.h"
#include "cli/commands.h"
#include "config/config_loader.h"

namespace amsha {

bool LoadConfigOrExplain(const ParsedFlags& flags, Config* out) {
  auto config = LoadAndValidateConfig(flags.Get("config"));
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return false;
  }
  *out = std::move(config).value();
  return true;
}

int RunCheckConfig(const ParsedFlags& flags) {
  Config config;
  if (!LoadConfigOrExplain(flags, &config)) return kExitUsage;
  std::cout << config.file << ": OK (" << config.clusters.size() << " cluster"
            << (config.clusters.size() == 1 ? "" : "s") << ", identity "
            << config.controller.identity << ")\n";
  return kExitOk;
}

int RunInitSchema(const ParsedFlags& flags) {
  Config config;
  if (!LoadConfigOrExplain(flags, &config)) return kExitUsage;
  std::cerr << "init-schema: not available in this build yet\n";
  return kExitFailure;
}

}  // namespace amsha
