#include "cli/flags.h"

namespace amsha {

StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                 const std::set<std::string>& known,
                                 const std::set<std::string>& switches) {
  ParsedFlags out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.rest.assign(args.begin() + i + 1, args.end());
      break;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return InvalidArgumentError("unexpected argument '" + arg + "'");
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (switches.count(name)) {
      if (has_value) return InvalidArgumentError("flag --" + name + " takes no value");
      out.values[name] = "true";
      continue;
    }
    if (!known.count(name)) return InvalidArgumentError("unknown flag --" + name);
    if (!has_value) {
      if (i + 1 >= args.size()) return InvalidArgumentError("flag --" + name + " needs a value");
      value = args[++i];
    }
    out.values[name] = value;
  }
  return out;
}

}  // namespace amsha
