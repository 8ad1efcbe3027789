#include "lease/postgres_schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/test_env.h"

namespace amsha {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

TEST(PostgresSchemaTest, EmbeddedDdlIsTheSqlFileByteForByte) {
  std::string file = ReadFile(testing::SourceDir() + "/sql/postgres/ha_lease.sql");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(PostgresSchemaDdl(), file);
}

TEST(PostgresSchemaTest, DefaultTableGetsTheFileUnchanged) {
  StatusOr<std::string> ddl = PostgresSchemaDdlFor("ha_lease");
  ASSERT_TRUE(ddl.ok());
  EXPECT_EQ(*ddl, PostgresSchemaDdl());
}

TEST(PostgresSchemaTest, OtherTableGetsItsOwnTableAndIndexNames) {
  StatusOr<std::string> ddl = PostgresSchemaDdlFor("amoro.leases");
  ASSERT_TRUE(ddl.ok());
  EXPECT_NE(ddl->find("CREATE TABLE IF NOT EXISTS \"amoro\".\"leases\" ("), std::string::npos);
  EXPECT_NE(ddl->find("CREATE INDEX IF NOT EXISTS idx_leases_expire ON \"amoro\".\"leases\" "
                      "(lease_expire_ts);"),
            std::string::npos);
  EXPECT_NE(ddl->find("CREATE INDEX IF NOT EXISTS idx_leases_node ON \"amoro\".\"leases\" "
                      "(node_id);"),
            std::string::npos);
  EXPECT_EQ(ddl->find("ha_lease"), std::string::npos);
}

TEST(PostgresSchemaTest, InvalidTableNameIsRejected) {
  EXPECT_EQ(PostgresSchemaDdlFor("x; DROP TABLE y").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace amsha
