#include "standin/patch.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace amsha::standin {
namespace {

ApiError Unprocessable(const std::string& message) {
  ApiError e;
  e.code = 422;
  e.reason = "Invalid";
  e.message = message;
  return e;
}

// RFC 6901: "/a/b~1c" -> {"a", "b/c"}.
bool SplitPointer(const std::string& ptr, std::vector<std::string>* parts) {
  parts->clear();
  if (ptr.empty()) return true;
  if (ptr[0] != '/') return false;
  std::string cur;
  for (size_t i = 1; i <= ptr.size(); ++i) {
    if (i == ptr.size() || ptr[i] == '/') {
      parts->push_back(cur);
      cur.clear();
    } else if (ptr[i] == '~' && i + 1 < ptr.size() && (ptr[i + 1] == '0' || ptr[i + 1] == '1')) {
      cur += ptr[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      cur += ptr[i];
    }
  }
  return true;
}

bool ArrayIndex(const std::string& s, size_t size, bool allow_end, size_t* index) {
  if (allow_end && s == "-") {
    *index = size;
    return true;
  }
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *index = std::strtoul(s.c_str(), nullptr, 10);
  return allow_end ? *index <= size : *index < size;
}

// The container that holds the last path element, or nullptr.
Json* Parent(Json* root, const std::vector<std::string>& parts) {
  Json* cur = root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (cur->is_object()) {
      if (!cur->has_field(parts[i])) return nullptr;
      cur = &cur->at(parts[i]);
    } else if (cur->is_array()) {
      size_t idx;
      if (!ArrayIndex(parts[i], cur->size(), false, &idx)) return nullptr;
      cur = &cur->at(idx);
    } else {
      return nullptr;
    }
  }
  return cur;
}

bool Lookup(Json* root, const std::vector<std::string>& parts, Json* out) {
  if (parts.empty()) {
    *out = *root;
    return true;
  }
  Json* parent = Parent(root, parts);
  if (!parent) return false;
  const std::string& last = parts.back();
  if (parent->is_object()) {
    if (!parent->has_field(last)) return false;
    *out = parent->at(last);
    return true;
  }
  size_t idx;
  if (!parent->is_array() || !ArrayIndex(last, parent->size(), false, &idx)) return false;
  *out = parent->at(idx);
  return true;
}

bool Remove(Json* root, const std::vector<std::string>& parts) {
  if (parts.empty()) return false;
  Json* parent = Parent(root, parts);
  if (!parent) return false;
  const std::string& last = parts.back();
  if (parent->is_object()) {
    if (!parent->has_field(last)) return false;
    parent->erase(last);
    return true;
  }
  size_t idx;
  if (!parent->is_array() || !ArrayIndex(last, parent->size(), false, &idx)) return false;
  parent->erase(idx);
  return true;
}

bool Add(Json* root, const std::vector<std::string>& parts, const Json& value, bool replace) {
  if (parts.empty()) {
    *root = value;
    return true;
  }
  Json* parent = Parent(root, parts);
  if (!parent) return false;
  const std::string& last = parts.back();
  if (parent->is_object()) {
    if (replace && !parent->has_field(last)) return false;
    (*parent)[last] = value;
    return true;
  }
  if (!parent->is_array()) return false;
  size_t idx;
  if (!ArrayIndex(last, parent->size(), !replace, &idx)) return false;
  if (replace) {
    (*parent)[idx] = value;
    return true;
  }
  // cpprest arrays have no insert: rebuild.
  Json out = Json::array();
  size_t n = parent->size(), j = 0;
  for (size_t i = 0; i <= n; ++i) {
    if (i == idx) out[j++] = value;
    if (i < n) out[j++] = parent->at(i);
  }
  *parent = out;
  return true;
}

}  // namespace

// The merge keys of the lists this stand-in's kinds have, from the
// patchMergeKey tags of staging/src/k8s.io/api/core/v1/types.go (a list not
// named here is replaced whole, as for a list without patchStrategy=merge).
const char* MergeKeyOf(const std::string& field) {
  if (field == "ports") return "port";  // ServiceSpec.Ports (ContainerPort: containerPort)
  if (field == "containers" || field == "initContainers" || field == "env" || field == "volumes" ||
      field == "volumeMounts") {
    return "name";
  }
  if (field == "conditions") return "type";
  if (field == "ownerReferences") return "uid";
  return nullptr;
}

static ApiError Unsupported(const std::string& directive) {
  return BadRequest("the stand-in does not implement the strategic merge patch directive \"" +
                    directive + "\"");
}

// A strategic merge patch (staging/src/k8s.io/apimachinery/pkg/util/
// strategicpatch/patch.go), for what kubectl apply and kubectl patch send:
// maps merge as in a merge patch; "$patch": "replace" / "delete" on a map;
// lists with a merge key merge element by element ("$patch": "delete" in an
// element removes it) and are ordered by "$setElementOrder/<list>";
// "$retainKeys" keeps only the named keys. Other directives are refused
// (400) rather than stored as fields.
ApiError ApplyStrategic(const Json& patch, Json* target) {
  if (!patch.is_object()) {
    *target = patch;
    return Ok();
  }
  std::string directive = StringField(patch, {"$patch"});
  if (directive == "replace") {
    Json copy = patch;
    copy.erase("$patch");
    *target = copy;
    return Ok();
  }
  if (!directive.empty()) return Unsupported("$patch: " + directive);
  if (!target->is_object()) *target = Json::object();
  for (const auto& kv : patch.as_object()) {
    const std::string& key = kv.first;
    const Json& value = kv.second;
    if (key.rfind("$setElementOrder/", 0) == 0) continue;  // applied below
    if (key == "$retainKeys") {
      if (!value.is_array()) return BadRequest("$retainKeys must be a list");
      std::vector<std::string> drop;
      for (const auto& member : target->as_object()) {
        bool keep = patch.has_field(member.first);
        for (const auto& k : value.as_array())
          keep = keep || (k.is_string() && k.as_string() == member.first);
        if (!keep) drop.push_back(member.first);
      }
      for (const auto& k : drop) target->erase(k);
      continue;
    }
    if (key[0] == '$') return Unsupported(key);
    if (value.is_null()) {
      if (target->has_field(key)) target->erase(key);
      continue;
    }
    if (value.is_object() && StringField(value, {"$patch"}) == "delete") {
      if (target->has_field(key)) target->erase(key);
      continue;
    }
    const char* merge_key = MergeKeyOf(key);
    if (value.is_array() && merge_key) {
      Json current =
          target->has_field(key) && target->at(key).is_array() ? target->at(key) : Json::array();
      std::vector<Json> items(current.as_array().begin(), current.as_array().end());
      for (const auto& element : value.as_array()) {
        Json id = Field(element, {merge_key});
        auto same = [&](const Json& j) { return !id.is_null() && Field(j, {merge_key}) == id; };
        auto it = std::find_if(items.begin(), items.end(), same);
        if (StringField(element, {"$patch"}) == "delete") {
          if (it != items.end()) items.erase(it);
        } else if (it != items.end()) {
          ApiError e = ApplyStrategic(element, &*it);
          if (!e.ok()) return e;
        } else {
          Json fresh = Json::object();
          ApiError e = ApplyStrategic(element, &fresh);
          if (!e.ok()) return e;
          items.push_back(fresh);
        }
      }
      Json order = Field(patch, {("$setElementOrder/" + key).c_str()});
      if (order.is_array()) {
        std::vector<Json> ordered;
        for (const auto& want : order.as_array()) {
          Json id = Field(want, {merge_key});
          for (auto it = items.begin(); it != items.end(); ++it) {
            if (Field(*it, {merge_key}) == id) {
              ordered.push_back(*it);
              items.erase(it);
              break;
            }
          }
        }
        ordered.insert(ordered.end(), items.begin(), items.end());
        items = ordered;
      }
      Json out = Json::array();
      for (size_t i = 0; i < items.size(); ++i) out[i] = items[i];
      (*target)[key] = out;
      continue;
    }
    ApiError e = ApplyStrategic(value, &(*target)[key]);
    if (!e.ok()) return e;
  }
  return Ok();
}

void ApplyMergePatch(const Json& patch, Json* target) {
  if (!patch.is_object()) {
    *target = patch;
    return;
  }
  if (!target->is_object()) *target = Json::object();
  for (const auto& kv : patch.as_object()) {
    if (kv.second.is_null()) {
      if (target->has_field(kv.first)) target->erase(kv.first);
    } else {
      ApplyMergePatch(kv.second, &(*target)[kv.first]);
    }
  }
}

ApiError ApplyJsonPatch(const Json& ops, Json* target) {
  if (!ops.is_array()) return BadRequest("json patch must be an array of operations");
  for (const auto& op : ops.as_array()) {
    std::string name = StringField(op, {"op"});
    std::string path = StringField(op, {"path"});
    std::vector<std::string> parts, from_parts;
    if (!op.is_object() || !op.has_field("path") || !SplitPointer(path, &parts)) {
      return BadRequest("json patch operation has no valid \"path\"");
    }
    Json value = op.has_field("value") ? op.at("value") : Json::null();
    bool needs_value = name == "add" || name == "replace" || name == "test";
    if (needs_value && !op.has_field("value")) {
      return BadRequest("json patch operation \"" + name + "\" has no \"value\"");
    }
    if (name == "add" || name == "replace") {
      if (!Add(target, parts, value, name == "replace")) {
        return Unprocessable("jsonpatch " + name +
                             " operation does not apply: doc is missing path: \"" + path + "\"");
      }
    } else if (name == "remove") {
      if (!Remove(target, parts)) {
        return Unprocessable("jsonpatch remove operation does not apply: doc is missing path: \"" +
                             path + "\"");
      }
    } else if (name == "test") {
      Json have;
      if (!Lookup(target, parts, &have) || have != value) {
        return Unprocessable("testing value " + path + " failed: test failed");
      }
    } else if (name == "move" || name == "copy") {
      std::string from = StringField(op, {"from"});
      Json moved;
      if (!SplitPointer(from, &from_parts) || !Lookup(target, from_parts, &moved)) {
        return Unprocessable("jsonpatch " + name +
                             " operation does not apply: doc is missing from path: \"" + from +
                             "\"");
      }
      if (name == "move") Remove(target, from_parts);
      if (!Add(target, parts, moved, false)) {
        return Unprocessable("jsonpatch " + name +
                             " operation does not apply: doc is missing path: \"" + path + "\"");
      }
    } else {
      return BadRequest("unexpected json patch operation \"" + name + "\"");
    }
  }
  return Ok();
}

ApiError ApplyPatch(const std::string& content_type, const std::string& body, Json* target) {
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  bool strategic = type == "application/strategic-merge-patch+json";
  bool merge = type == "application/merge-patch+json" || strategic;
  if (!merge && type != "application/json-patch+json") return UnsupportedMediaType(content_type);
  std::optional<Json> patch = ParseJson(body);
  if (!patch) return BadRequest("error decoding patch: invalid JSON");
  if (!merge) return ApplyJsonPatch(*patch, target);
  if (!patch->is_object())
    return BadRequest("error decoding patch: a merge patch must be an object");
  if (strategic) return ApplyStrategic(*patch, target);
  ApplyMergePatch(*patch, target);
  return Ok();
}

}  // namespace amsha::standin
