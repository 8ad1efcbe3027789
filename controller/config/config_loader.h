// LoadConfig: reads the controller's YAML configuration into Config.
//
// Rejects invalid YAML, unknown keys, wrong types and missing required keys
// with one line per problem: `file:line:column: key.path: what was expected`.
// Resolves defaults that depend on the environment (identity, password).
// Semantic checks across keys live in config_validator.h; LoadAndValidate
// runs both. Thread-compatible (pure apart from the injected environment).
#ifndef AMS_HA_CONFIG_CONFIG_LOADER_H_
#define AMS_HA_CONFIG_CONFIG_LOADER_H_

#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace amsha {

// Environment lookups, injectable for tests.
struct ConfigEnv {
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::function<std::string()> hostname;
  // Reads a whole file; nullopt when it cannot be read.
  std::function<std::optional<std::string>(const std::string&)> read_file;

  static ConfigEnv Process();  // the real process environment
};

// Errors: kNotFound (unreadable file) or kInvalidArgument whose message has
// one line per problem.
StatusOr<Config> LoadConfig(const std::string& path, const ConfigEnv& env = ConfigEnv::Process());
StatusOr<Config> LoadConfigFromString(const std::string& yaml, const std::string& name,
                                      const ConfigEnv& env = ConfigEnv::Process());

// LoadConfig followed by ValidateConfig.
StatusOr<Config> LoadAndValidateConfig(const std::string& path,
                                       const ConfigEnv& env = ConfigEnv::Process());

}  // namespace amsha

#endif  // AMS_HA_CONFIG_CONFIG_LOADER_H_
