#include "support/json_values.h"

namespace amsha::testing {

web::json::value ParseJsonOrNull(const std::string& body) {
  try {
    return web::json::value::parse(body);
  } catch (const std::exception&) {
    return web::json::value::null();
  }
}

std::vector<std::string> JsonStrings(const web::json::value& array) {
  std::vector<std::string> out;
  if (!array.is_array()) return out;
  for (const auto& v : array.as_array()) out.push_back(v.as_string());
  return out;
}

}  // namespace amsha::testing
