// Logging: leveled, structured log lines on stderr, as text or JSON.
//
//   Log(LogLevel::kInfo, "leader elected", {{"cluster", "prod"}, {"pod", "ams-0"}});
//
// text:  2026-11-25T14:00:00.123Z INFO leader elected cluster=prod pod=ams-0
// json:  {"ts":"...","level":"info","msg":"leader elected","cluster":"prod","pod":"ams-0"}
//        (written by common/json.h; a field named ts, level or msg replaces it)
// Never pass a password or token as a field; AddLogSecret() masks the known
// ones anyway, as a last line of defence. Thread-safe: a line is written
// whole under a lock.
#ifndef AMS_HA_COMMON_LOGGING_H_
#define AMS_HA_COMMON_LOGGING_H_

#include <string>
#include <utility>
#include <vector>

#include "common/json.h"  // JsonEscape, for callers that include only this

namespace amsha {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

using LogFields = std::vector<std::pair<std::string, std::string>>;

// Returns false if `name` is not one of debug, info, warn, error.
bool ParseLogLevel(const std::string& name, LogLevel* level);
bool ParseLogFormat(const std::string& name, LogFormat* format);

void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
bool LogEnabled(LogLevel level);

void Log(LogLevel level, const std::string& message, const LogFields& fields = {});

// From now on, every occurrence of `secret` in a log message or field value
// is written as "****" (the database password, a token). Secrets shorter than
// 4 characters are ignored: masking them would garble every line. Kept for
// the life of the process.
void AddLogSecret(const std::string& secret);
// The same for a secret that rotates (a bound service-account token): only
// the last 4 rotating secrets are kept, so hourly rotation never grows the
// list nor pushes out the permanent ones.
void AddRotatingLogSecret(const std::string& secret);
// `text` with the registered secrets masked (what Log() does to each part).
std::string MaskLogSecrets(std::string text);

// Formats one line without writing it (for tests).
std::string FormatLogLine(LogFormat format, LogLevel level, const std::string& timestamp,
                          const std::string& message, const LogFields& fields);

}  // namespace amsha

#endif  // AMS_HA_COMMON_LOGGING_H_
