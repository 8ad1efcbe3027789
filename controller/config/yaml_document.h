// YamlNode: a parsed YAML document as a small, library-free tree.
//
// This is the project's only yaml-cpp adapter (yaml_document.cc). Callers
// (the config loader, the kubeconfig loader) walk the tree and report errors
// at each node's `file:line:column`. Thread-compatible values.
#ifndef AMS_HA_CONFIG_YAML_DOCUMENT_H_
#define AMS_HA_CONFIG_YAML_DOCUMENT_H_

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace amsha {

struct YamlMark {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based

  // "config.yaml:3:5"
  std::string ToString() const;
};

class YamlNode {
 public:
  enum class Kind { kNull, kScalar, kMap, kSequence };

  struct Entry;

  YamlNode() = default;

  Kind kind() const { return kind_; }
  bool IsNull() const { return kind_ == Kind::kNull; }
  bool IsScalar() const { return kind_ == Kind::kScalar; }
  bool IsMap() const { return kind_ == Kind::kMap; }
  bool IsSequence() const { return kind_ == Kind::kSequence; }
  const YamlMark& mark() const { return mark_; }

  // For scalars: the text. Quoted scalars report quoted() == true so that a
  // caller can tell "true" (a string) from true.
  const std::string& scalar() const { return scalar_; }
  bool quoted() const { return quoted_; }

  // For maps, in document order.
  const std::vector<Entry>& entries() const { return entries_; }
  // The value under `key`, or nullptr when the key is absent (or not a map).
  const YamlNode* Get(const std::string& key) const;

  // For sequences.
  const std::vector<YamlNode>& items() const { return items_; }

  // Human name of a kind: "a map", "a list", "a scalar", "null".
  static const char* KindName(Kind kind);

 private:
  friend class YamlBuilder;
  Kind kind_ = Kind::kNull;
  YamlMark mark_;
  std::string scalar_;
  bool quoted_ = false;
  std::vector<Entry> entries_;
  std::vector<YamlNode> items_;
};

struct YamlNode::Entry {
  std::string key;
  YamlMark key_mark;
  YamlNode value;
};

// Parses a whole file. Errors: kNotFound (unreadable file) or
// kInvalidArgument "file:line:column: invalid YAML: <reason>".
StatusOr<YamlNode> ParseYamlFile(const std::string& path);
// Parses text; `name` stands for the file in marks and messages.
StatusOr<YamlNode> ParseYamlString(const std::string& text, const std::string& name);

}  // namespace amsha

#endif  // AMS_HA_CONFIG_YAML_DOCUMENT_H_
