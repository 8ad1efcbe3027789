// The command line: `ams-ha-controller <command> [flags]`.
//
// Commands: run, check-config, init-schema, status, switchover, gate.
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#ifndef AMS_HA_CLI_CLI_H_
#define AMS_HA_CLI_CLI_H_

namespace amsha {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

int RunCli(int argc, char** argv);

}  // namespace amsha

#endif  // AMS_HA_CLI_CLI_H_
