// check-config and init-schema.
#include <iostream>

#include "cli/backends.h"
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
  // --kubeconfig wins over kubernetes.kubeconfig (and so over $KUBECONFIG
  // and in-cluster); --context picks the kubeconfig context.
  if (flags.Has("kubeconfig")) out->kubernetes.kubeconfig = flags.Get("kubeconfig");
  if (flags.Has("context")) out->kubernetes.context = flags.Get("context");
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
  auto store = OpenLeaseStore(config);
  Status applied = store.ok() ? (*store)->ApplySchema() : store.status();
  if (!applied.ok()) {
    std::cerr << "init-schema: " << applied.message() << "\n";
    return kExitFailure;
  }
  std::cout << "init-schema: table ha_lease is ready\n";
  return kExitOk;
}

}  // namespace amsha
