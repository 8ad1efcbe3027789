#include "common/logging.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>

namespace amsha {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
std::mutex g_write_mu;
std::mutex g_secrets_mu;
std::deque<std::string> g_secrets;           // guarded by g_secrets_mu
std::deque<std::string> g_rotating_secrets;  // guarded by g_secrets_mu
std::atomic<bool> g_have_secrets{false};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

bool NeedsQuotes(const std::string& v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') return true;
  }
  return false;
}

}  // namespace

bool ParseLogLevel(const std::string& name, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool ParseLogFormat(const std::string& name, LogFormat* format) {
  if (name == "text") {
    *format = LogFormat::kText;
    return true;
  }
  if (name == "json") {
    *format = LogFormat::kJson;
    return true;
  }
  return false;
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
void SetLogFormat(LogFormat format) { g_format = static_cast<int>(format); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

std::string FormatLogLine(LogFormat format, LogLevel level, const std::string& timestamp,
                          const std::string& message, const LogFields& fields) {
  if (format == LogFormat::kJson) {
    Json line = Json::Object();
    line.Set("ts", timestamp).Set("level", LevelName(level)).Set("msg", message);
    for (const auto& [k, v] : fields) line.Set(k, v);
    return line.Serialize();
  }
  std::string line;
  line = timestamp + " " + LevelName(level) + " " + message;
  for (const auto& [k, v] : fields) {
    line += " " + k + "=";
    line += NeedsQuotes(v) ? Json(v).Serialize() : v;
  }
  return line;
}

namespace {

void AddSecretTo(std::deque<std::string>* list, const std::string& secret, size_t keep) {
  if (secret.size() < 4) return;
  std::lock_guard<std::mutex> lock(g_secrets_mu);
  for (const std::string& known : *list) {
    if (known == secret) return;
  }
  list->push_back(secret);
  if (keep > 0 && list->size() > keep) list->pop_front();
  g_have_secrets = true;
}

}  // namespace

void AddLogSecret(const std::string& secret) { AddSecretTo(&g_secrets, secret, 0); }

void AddRotatingLogSecret(const std::string& secret) {
  AddSecretTo(&g_rotating_secrets, secret, 4);
}

std::string MaskLogSecrets(std::string text) {
  if (!g_have_secrets) return text;
  std::lock_guard<std::mutex> lock(g_secrets_mu);
  for (const auto* list : {&g_secrets, &g_rotating_secrets}) {
    for (const std::string& secret : *list) {
      for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 4)) {
        text.replace(at, secret.size(), "****");
      }
    }
  }
  return text;
}

void Log(LogLevel level, const std::string& message, const LogFields& fields) {
  if (!LogEnabled(level)) return;
  std::string line;
  if (g_have_secrets) {
    LogFields masked = fields;
    for (auto& field : masked) field.second = MaskLogSecrets(std::move(field.second));
    line = FormatLogLine(static_cast<LogFormat>(g_format.load()), level, NowRfc3339(),
                         MaskLogSecrets(message), masked);
  } else {
    line = FormatLogLine(static_cast<LogFormat>(g_format.load()), level, NowRfc3339(), message,
                         fields);
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace amsha
