// Reading the Prometheus text exposition in tests: every sample line as
// "name{labels}" -> value, and the HELP/TYPE lines by metric name.
#ifndef AMS_HA_TESTS_UNIT_METRICS_EXPOSITION_H_
#define AMS_HA_TESTS_UNIT_METRICS_EXPOSITION_H_

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

namespace amsha::testing {

struct Exposition {
  std::map<std::string, double> samples;    // exactly as printed: name{a="b",c="d"}
  std::map<std::string, std::string> help;  // metric name -> HELP text
  std::map<std::string, std::string> type;  // metric name -> TYPE
  std::set<std::string> names;              // sample names (with _bucket, _sum, ...)

  std::optional<double> Get(const std::string& series) const {
    auto it = samples.find(series);
    if (it == samples.end()) return std::nullopt;
    return it->second;
  }
  bool HasSeriesStartingWith(const std::string& prefix) const {
    auto it = samples.lower_bound(prefix);
    return it != samples.end() && it->first.compare(0, prefix.size(), prefix) == 0;
  }
};

inline Exposition ParseExposition(const std::string& text) {
  Exposition out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      size_t space = rest.find(' ');
      std::string name = rest.substr(0, space);
      std::string value = space == std::string::npos ? "" : rest.substr(space + 1);
      (line[2] == 'H' ? out.help : out.type)[name] = value;
      continue;
    }
    if (line[0] == '#') continue;
    // The value follows the last space (label values here hold no spaces).
    size_t space = line.rfind(' ');
    std::string series = line.substr(0, space);
    out.samples[series] = std::strtod(line.c_str() + space + 1, nullptr);
    out.names.insert(series.substr(0, series.find('{')));
  }
  return out;
}

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_UNIT_METRICS_EXPOSITION_H_
