// Durations as people write them in configuration: "500ms", "10s", "1m30s".
#ifndef AMS_HA_COMMON_DURATION_H_
#define AMS_HA_COMMON_DURATION_H_

#include <chrono>
#include <optional>
#include <string>

namespace amsha {

// Parses one or more <number><unit> terms (units ms, s, m, h; the number may
// have a fraction: "1.5s"). Returns nullopt for anything else, including a
// bare number without a unit and negative values.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

// "1m30s", "500ms", "0s": the shortest form ParseDuration reads back.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace amsha

#endif  // AMS_HA_COMMON_DURATION_H_
