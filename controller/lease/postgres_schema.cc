#include "lease/postgres_schema.h"

#include "lease/postgres_conninfo.h"
#include "lease/postgres_schema_ddl.h"

namespace amsha {
namespace {

bool IsWordChar(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Replaces `word` where it stands alone (not inside a longer identifier).
std::string ReplaceWord(const std::string& text, const std::string& word, const std::string& to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = text.find(word, pos);
    if (hit == std::string::npos) break;
    bool alone = (hit == 0 || !IsWordChar(text[hit - 1])) &&
                 (hit + word.size() == text.size() || !IsWordChar(text[hit + word.size()]));
    out += text.substr(pos, hit - pos);
    out += alone ? to : word;
    pos = hit + word.size();
  }
  return out + text.substr(pos);
}

}  // namespace

const std::string& PostgresSchemaDdl() {
  static const std::string* const kDdl = new std::string(kPostgresSchemaDdl);
  return *kDdl;
}

StatusOr<std::string> PostgresSchemaDdlFor(const std::string& table) {
  Status valid = ValidateTableName(table);
  if (!valid.ok()) return valid;
  if (table == kDefaultLeaseTable) return PostgresSchemaDdl();
  // Index names first: "idx_ha_lease_expire" contains the table's name but
  // is not a standalone word, so the second pass leaves it alone anyway.
  std::string ddl = ReplaceWord(PostgresSchemaDdl(), "idx_ha_lease_expire",
                                "idx_" + UnqualifiedTableName(table) + "_expire");
  ddl = ReplaceWord(ddl, "idx_ha_lease_node", "idx_" + UnqualifiedTableName(table) + "_node");
  return ReplaceWord(ddl, kDefaultLeaseTable, QuoteTableName(table));
}

}  // namespace amsha
