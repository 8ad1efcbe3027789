#include "standin/json_util.h"

#include <chrono>
#include <ctime>
#include <mutex>
#include <random>

namespace amsha::standin {

Json Field(const Json& obj, std::initializer_list<const char*> path) {
  const Json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object() || !cur->has_field(key)) return Json::null();
    cur = &cur->at(key);
  }
  return *cur;
}

std::string StringField(const Json& obj, std::initializer_list<const char*> path) {
  Json v = Field(obj, path);
  return v.is_string() ? v.as_string() : std::string();
}

Json& MutableField(Json& obj, std::initializer_list<const char*> path) {
  Json* cur = &obj;
  for (const char* key : path) {
    if (!cur->is_object()) *cur = Json::object();
    cur = &(*cur)[key];
  }
  return *cur;
}

std::map<std::string, std::string> StringMap(const Json& obj) {
  std::map<std::string, std::string> out;
  if (!obj.is_object()) return out;
  for (const auto& kv : obj.as_object()) {
    if (kv.second.is_string()) out[kv.first] = kv.second.as_string();
  }
  return out;
}

Json StringMapJson(const std::map<std::string, std::string>& map) {
  Json out = Json::object();
  for (const auto& [k, v] : map) out[k] = Json::string(v);
  return out;
}

bool PodReady(const Json& pod) {
  Json conditions = Field(pod, {"status", "conditions"});
  if (!conditions.is_array()) return false;
  for (const auto& c : conditions.as_array()) {
    if (StringField(c, {"type"}) == "Ready") return StringField(c, {"status"}) == "True";
  }
  return false;
}

bool Terminating(const Json& obj) {
  return !Field(obj, {"metadata", "deletionTimestamp"}).is_null();
}

std::optional<Json> ParseJson(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string Rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NowRfc3339() { return Rfc3339(std::time(nullptr)); }

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowMonoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {
std::mutex rng_mu;
std::mt19937_64& Rng() {
  static std::mt19937_64 rng(std::random_device{}());
  return rng;
}
}  // namespace

std::string RandomUid() {
  static const char kHex[] = "0123456789abcdef";
  std::lock_guard<std::mutex> lock(rng_mu);
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    out += kHex[Rng()() % 16];
  }
  return out;
}

std::string RandomSuffix(size_t length) {
  static const char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
  std::lock_guard<std::mutex> lock(rng_mu);
  std::string out;
  for (size_t i = 0; i < length; ++i) out += kChars[Rng()() % (sizeof(kChars) - 1)];
  return out;
}

}  // namespace amsha::standin
