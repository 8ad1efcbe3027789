// Flags: the `--name value` / `--name=value` flags after a command, and the
// arguments after `--` (for `gate`). Pure; used by cli.cc.
#ifndef AMS_HA_CLI_FLAGS_H_
#define AMS_HA_CLI_FLAGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace amsha {

struct ParsedFlags {
  std::map<std::string, std::string> values;
  std::vector<std::string> rest;  // after `--`

  bool Has(const std::string& name) const { return values.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

// `known` lists the flags that take a value; `switches` the ones that do
// not. Errors (kInvalidArgument) name the flag: "unknown flag --confg".
StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                 const std::set<std::string>& known,
                                 const std::set<std::string>& switches = {});

}  // namespace amsha

#endif  // AMS_HA_CLI_FLAGS_H_
