#include "common/json.h"

#include <cpprest/json.h>

namespace amsha {
namespace {

web::json::value ToCpprest(const Json& j);

web::json::value ObjectToCpprest(const std::vector<std::string>& keys,
                                 const std::vector<Json>& items) {
  // keep_order: the fields come out in the order they were set.
  web::json::value out = web::json::value::object(/*keep_order=*/true);
  for (size_t i = 0; i < keys.size(); ++i) out[keys[i]] = ToCpprest(items[i]);
  return out;
}

Json FromCpprest(const web::json::value& v) {
  switch (v.type()) {
    case web::json::value::Boolean:
      return Json(v.as_bool());
    case web::json::value::Number:
      return v.as_number().is_int64() ? Json(static_cast<int64_t>(v.as_number().to_int64()))
                                      : Json(static_cast<int64_t>(v.as_double()));
    case web::json::value::String:
      return Json(v.as_string());
    case web::json::value::Array: {
      Json out = Json::Array();
      for (const auto& item : v.as_array()) out.Push(FromCpprest(item));
      return out;
    }
    case web::json::value::Object: {
      Json out = Json::Object();
      for (const auto& field : v.as_object()) out.Set(field.first, FromCpprest(field.second));
      return out;
    }
    default:
      return Json();
  }
}

}  // namespace

class JsonAccess {
 public:
  static web::json::value Convert(const Json& j) {
    switch (j.kind_) {
      case Json::Kind::kNull:
        return web::json::value::null();
      case Json::Kind::kBool:
        return web::json::value::boolean(j.bool_);
      case Json::Kind::kNumber:
        return web::json::value::number(j.number_);
      case Json::Kind::kString:
        return web::json::value::string(j.string_);
      case Json::Kind::kArray: {
        web::json::value out = web::json::value::array(j.items_.size());
        for (size_t i = 0; i < j.items_.size(); ++i) out[i] = Convert(j.items_[i]);
        return out;
      }
      case Json::Kind::kObject:
        return ObjectToCpprest(j.keys_, j.items_);
    }
    return web::json::value::null();
  }
};

namespace {
web::json::value ToCpprest(const Json& j) { return JsonAccess::Convert(j); }
}  // namespace

Json& Json::Set(const std::string& key, Json value) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      items_[i] = std::move(value);
      return *this;
    }
  }
  keys_.push_back(key);
  items_.push_back(std::move(value));
  return *this;
}

Json& Json::Push(Json value) {
  items_.push_back(std::move(value));
  return *this;
}

const Json* Json::Find(const std::string& key) const {
  if (kind_ != Kind::kObject) return nullptr;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

std::string Json::Serialize() const { return ToCpprest(*this).serialize(); }

std::optional<Json> Json::Parse(const std::string& text) {
  std::error_code error;
  web::json::value v = web::json::value::parse(text, error);
  if (error) return std::nullopt;
  return FromCpprest(v);
}

std::string JsonStringMember(const std::string& text, const std::string& key) {
  std::optional<Json> parsed = Json::Parse(text);
  if (!parsed) return "";
  const Json* member = parsed->Find(key);
  return member && member->kind() == Json::Kind::kString ? member->AsString() : "";
}

std::string JsonEscape(const std::string& s) {
  std::string quoted = web::json::value::string(s).serialize();
  return quoted.substr(1, quoted.size() - 2);
}

}  // namespace amsha
