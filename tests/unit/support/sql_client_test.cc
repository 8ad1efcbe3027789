#include "support/sql_client.h"

#include <gtest/gtest.h>

namespace amsha::testing {
namespace {

std::string Dollar(size_t i) { return "$" + std::to_string(i + 1); }

TEST(BindPlaceholdersTest, NumbersEachPlaceholderInOrder) {
  auto bound = BindPlaceholders("UPDATE t SET a = ?, b = ? WHERE c = ?", 3, Dollar);
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(*bound, "UPDATE t SET a = $1, b = $2 WHERE c = $3");
}

TEST(BindPlaceholdersTest, LeavesQuestionMarksInsideQuotedLiteralsAlone) {
  auto bound = BindPlaceholders("SELECT '?', 'it''s ?', \"col?\" FROM t WHERE a = ?", 1, Dollar);
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(*bound, "SELECT '?', 'it''s ?', \"col?\" FROM t WHERE a = $1");
}

TEST(BindPlaceholdersTest, RefusesACountThatDiffersFromTheParameters) {
  EXPECT_EQ(BindPlaceholders("SELECT ?", 2, Dollar).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BindPlaceholders("SELECT ?, ?", 1, Dollar).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(BindPlaceholdersTest, SplicesWhatThePlaceholderFunctionReturns) {
  auto bound = BindPlaceholders("INSERT INTO t VALUES (?, ?)", 2, [](size_t i) {
    return i == 0 ? std::string("'a'") : std::string("NULL");
  });
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(*bound, "INSERT INTO t VALUES ('a', NULL)");
}

}  // namespace
}  // namespace amsha::testing
