// Json: a JSON value built in memory and written (or read) by cpprestsdk's
// web::json, for what the controller prints or stores as JSON: the JSON log
// lines, `status --output json`, and the small payloads of lease rows
// (server_info_json). No code outside controller/common/json.cc escapes or
// parses JSON by hand.
//
// common/json.cc is the adapter for cpprestsdk's JSON half (the only file
// that includes cpprest/json.h apart from kube/rest_kube_api.cc, which uses
// cpprest's HTTP client and reads the API server's JSON with it); this
// header keeps the library out of every caller.
//
//   Json::Object().Set("name", "prod").Set("ready", true).Serialize()
//     -> {"name":"prod","ready":true}
// Object keys keep the order they were set in (setting a key again replaces
// its value in place). Thread safety: a value, like std::string.
#ifndef AMS_HA_COMMON_JSON_H_
#define AMS_HA_COMMON_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amsha {

class Json {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;                                                 // null
  Json(const std::string& s) : kind_(Kind::kString), string_(s) {}  // NOLINT: implicit on purpose
  Json(const char* s) : kind_(Kind::kString), string_(s) {}         // NOLINT
  Json(bool b) : kind_(Kind::kBool), bool_(b) {}                    // NOLINT
  Json(int n) : kind_(Kind::kNumber), number_(n) {}                 // NOLINT
  Json(int64_t n) : kind_(Kind::kNumber), number_(n) {}             // NOLINT

  static Json Object() { return Json(Kind::kObject); }
  static Json Array() { return Json(Kind::kArray); }
  static Json Null() { return Json(); }

  // On an object: sets `key` (in place when present). On an array: appends.
  Json& Set(const std::string& key, Json value);
  Json& Push(Json value);

  // Compact JSON text.
  std::string Serialize() const;

  // `text` parsed; nullopt when it is not JSON. Object members come out
  // sorted by key (cpprestsdk's parser does not keep their order).
  static std::optional<Json> Parse(const std::string& text);

  Kind kind() const { return kind_; }
  // A member of an object (nullptr when absent or not an object).
  const Json* Find(const std::string& key) const;
  // The string, number or bool it holds ("" / 0 / false otherwise).
  const std::string& AsString() const { return string_; }
  int64_t AsNumber() const { return number_; }
  bool AsBool() const { return bool_; }

 private:
  friend class JsonAccess;  // json.cc: the conversion to web::json
  explicit Json(Kind kind) : kind_(kind) {}

  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t number_ = 0;
  std::string string_;
  std::vector<std::string> keys_;  // objects: keys_[i] names items_[i]
  std::vector<Json> items_;        // arrays and objects
};

// A top-level string member of the JSON object in `text` ("" when `text` is
// not a JSON object or has no such string member).
std::string JsonStringMember(const std::string& text, const std::string& key);

// `s` as a JSON string literal without the surrounding quotes.
std::string JsonEscape(const std::string& s);

}  // namespace amsha

#endif  // AMS_HA_COMMON_JSON_H_
