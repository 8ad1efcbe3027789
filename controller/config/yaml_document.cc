// The yaml-cpp adapter: the only file that includes yaml-cpp.
#include "config/yaml_document.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace amsha {

std::string YamlMark::ToString() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const YamlNode* YamlNode::Get(const std::string& key) const {
  for (const Entry& e : entries_) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

const char* YamlNode::KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kMap:
      return "a map";
    case Kind::kSequence:
      return "a list";
  }
  return "?";
}

class YamlBuilder {
 public:
  explicit YamlBuilder(std::string file) : file_(std::move(file)) {}

  YamlMark MarkOf(const YAML::Mark& m) const {
    YamlMark mark;
    mark.file = file_;
    if (m.line >= 0) {
      mark.line = m.line + 1;
      mark.column = m.column + 1;
    }
    return mark;
  }

  // Throws YAML::Exception for non-scalar keys.
  YamlNode Build(const YAML::Node& node) const {
    YamlNode out;
    out.mark_ = MarkOf(node.Mark());
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out.kind_ = YamlNode::Kind::kNull;
        break;
      case YAML::NodeType::Scalar:
        out.kind_ = YamlNode::Kind::kScalar;
        out.scalar_ = node.Scalar();
        // yaml-cpp tags plain scalars "?" and quoted ones "!".
        out.quoted_ = node.Tag() == "!";
        break;
      case YAML::NodeType::Sequence:
        out.kind_ = YamlNode::Kind::kSequence;
        for (const auto& item : node) out.items_.push_back(Build(item));
        break;
      case YAML::NodeType::Map:
        out.kind_ = YamlNode::Kind::kMap;
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) {
            throw YAML::ParserException(kv.first.Mark(), "map keys must be plain strings");
          }
          YamlNode::Entry entry;
          entry.key = kv.first.Scalar();
          entry.key_mark = MarkOf(kv.first.Mark());
          entry.value = Build(kv.second);
          out.entries_.push_back(std::move(entry));
        }
        break;
    }
    return out;
  }

 private:
  std::string file_;
};

StatusOr<YamlNode> ParseYamlString(const std::string& text, const std::string& name) {
  YamlBuilder builder(name);
  try {
    return builder.Build(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(builder.MarkOf(e.mark).ToString() + ": invalid YAML: " + e.msg);
  }
}

StatusOr<YamlNode> ParseYamlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError(path + ": cannot read the file (does it exist?)");
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseYamlString(buf.str(), path);
}

}  // namespace amsha
