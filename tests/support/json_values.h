// Small JSON helpers for the test harnesses that read the API stand-in's
// admin answers (E2eCluster, ScaleFleet): parse without throwing, and a
// JSON array of strings as a vector. Values; thread-safe.
#ifndef AMS_HA_TESTS_SUPPORT_JSON_VALUES_H_
#define AMS_HA_TESTS_SUPPORT_JSON_VALUES_H_

#include <cpprest/json.h>

#include <string>
#include <vector>

namespace amsha::testing {

// The parsed document, or JSON null when `body` is not JSON.
web::json::value ParseJsonOrNull(const std::string& body);
// The strings of a JSON array (empty when `array` is not one).
std::vector<std::string> JsonStrings(const web::json::value& array);

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_JSON_VALUES_H_
