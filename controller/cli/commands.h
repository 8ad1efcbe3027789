// The implementations of the CLI commands, one function each. Each returns
// the process exit code (cli.h) and prints what an operator needs.
#ifndef AMS_HA_CLI_COMMANDS_H_
#define AMS_HA_CLI_COMMANDS_H_

#include "cli/flags.h"
#include "config/config.h"

namespace amsha {

// Loads and validates --config, printing each problem on its own line to
// stderr. Returns false when the configuration is unusable (exit 2).
bool LoadConfigOrExplain(const ParsedFlags& flags, Config* out);

int RunCheckConfig(const ParsedFlags& flags);
int RunInitSchema(const ParsedFlags& flags);
int RunController(const ParsedFlags& flags);
int RunStatus(const ParsedFlags& flags);
int RunSwitchover(const ParsedFlags& flags);
int RunGate(const ParsedFlags& flags);

}  // namespace amsha

#endif  // AMS_HA_CLI_COMMANDS_H_
