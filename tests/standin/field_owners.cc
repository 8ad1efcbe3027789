#include "standin/field_owners.h"

#include <vector>

#include "standin/patch.h"

namespace amsha::standin {
namespace {

std::string Escape(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Scalar(const Json& v) { return v.is_string() ? v.as_string() : v.serialize(); }

void Walk(const Json& v, const std::string& path, const std::string& field,
          std::map<std::string, Json>* out) {
  if (v.is_object() && v.size() > 0) {
    for (const auto& [key, member] : v.as_object()) {
      Walk(member, path + "/" + Escape(key), key, out);
    }
    return;
  }
  const char* merge_key = MergeKeyOf(field);
  if (v.is_array() && merge_key) {
    for (const auto& element : v.as_array()) {
      Json id = Field(element, {merge_key});
      if (id.is_null()) continue;
      std::string at = path + "[" + merge_key + "=" + Scalar(id) + "]";
      (*out)[at] = id;
      for (const auto& [key, member] : element.as_object()) {
        if (key != merge_key) Walk(member, at + "/" + Escape(key), key, out);
      }
    }
    return;
  }
  (*out)[path] = v;
}

// "/spec/ports[port=1]/name" -> {"spec", "ports[port=1]", "name"}.
std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      parts.push_back(cur);
      cur.clear();
    } else if (path[i] == '~' && i + 1 < path.size()) {
      cur += path[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      cur += path[i];
    }
  }
  return parts;
}

// Finds the member a component names in `parent`: an object key, or
// "list[key=value]" an element of the list `list`.
Json* Step(Json* parent, const std::string& part, bool* is_element, std::string* list,
           size_t* index) {
  *is_element = false;
  size_t open = part.find('[');
  if (open == std::string::npos || part.back() != ']') {
    if (!parent->is_object() || !parent->has_field(part)) return nullptr;
    return &parent->at(part);
  }
  *list = part.substr(0, open);
  std::string selector = part.substr(open + 1, part.size() - open - 2);
  size_t eq = selector.find('=');
  std::string key = selector.substr(0, eq), value = selector.substr(eq + 1);
  if (!parent->is_object() || !parent->has_field(*list) || !parent->at(*list).is_array()) {
    return nullptr;
  }
  Json& array = parent->at(*list);
  for (size_t i = 0; i < array.size(); ++i) {
    Json id = Field(array.at(i), {key.c_str()});
    if (!id.is_null() && Scalar(id) == value) {
      *is_element = true;
      *index = i;
      return &array.at(i);
    }
  }
  return nullptr;
}

void RemovePath(Json* obj, const std::string& path) {
  std::vector<std::string> parts = Split(path);
  Json* cur = obj;
  for (size_t i = 0; i < parts.size(); ++i) {
    bool element = false;
    std::string list;
    size_t index = 0;
    Json* next = Step(cur, parts[i], &element, &list, &index);
    if (!next) return;
    if (i + 1 < parts.size()) {
      cur = next;
      continue;
    }
    if (element) {
      cur->at(list).erase(index);
    } else {
      cur->erase(parts[i]);
    }
  }
}

const char* kApply = "\nApply";
const char* kUpdate = "\nUpdate";

// "/spec/selector/a~1b" -> ".spec.selector.a/b", the API server's form.
std::string Dotted(const std::string& path) {
  std::string out;
  for (const auto& part : Split(path)) out += "." + part;
  return out;
}

std::string ManagerOf(const std::string& entry) { return entry.substr(0, entry.find('\n')); }

}  // namespace

std::map<std::string, Json> LeafFields(const Json& obj) {
  std::map<std::string, Json> out;
  if (!obj.is_object()) return out;
  for (const auto& [key, member] : obj.as_object()) {
    if (key == "apiVersion" || key == "kind" || key == "status") continue;
    if (key == "metadata" && member.is_object()) {
      for (const auto& [mkey, mvalue] : member.as_object()) {
        if (mkey == "labels" || mkey == "annotations" || mkey == "ownerReferences" ||
            mkey == "finalizers") {
          Walk(mvalue, "/metadata/" + mkey, mkey, &out);
        }
      }
      continue;
    }
    Walk(member, "/" + Escape(key), key, &out);
  }
  return out;
}

void FieldOwners::RecordUpdate(const std::string& manager, const Json& before, const Json& after) {
  std::map<std::string, Json> old_fields =
      before.is_null() ? std::map<std::string, Json>() : LeafFields(before);
  std::map<std::string, Json> new_fields = LeafFields(after);
  std::set<std::string>& mine = owned_[manager + kUpdate];
  for (const auto& [path, value] : new_fields) {
    auto old = old_fields.find(path);
    if (old != old_fields.end() && old->second == value) continue;
    for (auto& [entry, fields] : owned_) fields.erase(path);
    mine.insert(path);
  }
  for (const auto& [path, value] : old_fields) {
    if (new_fields.count(path)) continue;
    for (auto& [entry, fields] : owned_) fields.erase(path);
  }
  for (auto it = owned_.begin(); it != owned_.end();) {
    it = it->second.empty() ? owned_.erase(it) : std::next(it);
  }
}

ApiError FieldOwners::Apply(const std::string& kind, const std::string& manager, const Json& config,
                            bool force, Json* live) {
  std::map<std::string, Json> applied = LeafFields(config);
  std::map<std::string, Json> current = LeafFields(*live);
  const std::string me = manager + kApply;
  // Conflicts: a value this apply would change that someone else owns.
  std::vector<std::string> conflicts;
  std::vector<std::pair<std::string, std::string>> taken;  // entry, path
  for (const auto& [path, value] : applied) {
    auto now = current.find(path);
    if (now == current.end() || now->second == value) continue;
    for (const auto& [entry, fields] : owned_) {
      if (entry == me || !fields.count(path)) continue;
      conflicts.push_back("conflict with \"" + ManagerOf(entry) + "\"" +
                          (entry.find(kApply) == std::string::npos ? " using v1" : "") + ": " +
                          Dotted(path));
      taken.push_back({entry, path});
    }
  }
  if (!conflicts.empty() && !force) {
    std::string message = "Apply failed with " + std::to_string(conflicts.size()) + " conflict" +
                          (conflicts.size() == 1 ? "" : "s") + ": ";
    for (size_t i = 0; i < conflicts.size(); ++i) message += (i ? "\n" : "") + conflicts[i];
    ApiError e;
    e.code = 409;
    e.reason = "Conflict";
    e.message = message;
    (void)kind;
    return e;
  }
  for (const auto& [entry, path] : taken) owned_[entry].erase(path);
  // Fields this manager applied before and no longer does: removed unless
  // someone else owns them too.
  for (const auto& path : owned_[me]) {
    if (applied.count(path)) continue;
    bool shared = false;
    for (const auto& [entry, fields] : owned_)
      shared = shared || (entry != me && fields.count(path));
    if (!shared) RemovePath(live, path);
  }
  ApiError merged = ApplyStrategic(config, live);
  if (!merged.ok()) return merged;
  std::set<std::string> mine;
  for (const auto& [path, value] : applied) mine.insert(path);
  owned_[me] = mine;
  for (auto it = owned_.begin(); it != owned_.end();) {
    it = it->second.empty() ? owned_.erase(it) : std::next(it);
  }
  return Ok();
}

std::set<std::string> FieldOwners::OwnersOf(const std::string& path) const {
  std::set<std::string> out;
  for (const auto& [entry, fields] : owned_) {
    if (fields.count(path)) out.insert(ManagerOf(entry));
  }
  return out;
}

}  // namespace amsha::standin
