// Small helpers around cpprest's web::json for the stand-in: field access
// that tolerates missing members, labels as a map, timestamps and ids.
// Callers: every stand-in file that touches Kubernetes objects.
// Thread-safe (free functions; RandomId uses a locked generator).
#ifndef AMS_HA_TESTS_STANDIN_JSON_UTIL_H_
#define AMS_HA_TESTS_STANDIN_JSON_UTIL_H_

#include <cpprest/json.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace amsha::standin {

using Json = web::json::value;

// obj[a][b]... or null when any step is missing or not an object.
Json Field(const Json& obj, std::initializer_list<const char*> path);
std::string StringField(const Json& obj, std::initializer_list<const char*> path);
// Creates intermediate objects as needed.
Json& MutableField(Json& obj, std::initializer_list<const char*> path);

// metadata.labels (or spec.selector for a Service) as a map; non-string
// values are skipped.
std::map<std::string, std::string> StringMap(const Json& obj);
Json StringMapJson(const std::map<std::string, std::string>& map);

// A Pod is ready when its Ready condition is "True".
bool PodReady(const Json& pod);
bool Terminating(const Json& obj);

// Parses `text`; nullopt when it is not JSON.
std::optional<Json> ParseJson(const std::string& text);

std::string Rfc3339(int64_t unix_seconds);
std::string NowRfc3339();
int64_t NowUnixMs();
int64_t NowMonoNs();
std::string RandomUid();
// Lowercase alphanumerics, for generateName suffixes and default tokens.
std::string RandomSuffix(size_t length);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_JSON_UTIL_H_
