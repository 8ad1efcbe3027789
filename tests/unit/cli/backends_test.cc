// cli/backends: which engine a database.url chooses, and database.tls as
// the chosen engine's own connection parameters.
#include "cli/backends.h"

#include <gtest/gtest.h>

#include "lease/mysql_url.h"

namespace amsha {
namespace {

Config WithUrl(const std::string& url) {
  Config c;
  c.database.url = url;
  return c;
}

TEST(BackendsTest, TheSchemeChoosesTheEngine) {
  EXPECT_TRUE(UsesMysql(WithUrl("mysql://ams@db:3306/amoro")));
  EXPECT_TRUE(UsesMysql(WithUrl("mariadb://ams@db/amoro")));
  EXPECT_FALSE(UsesMysql(WithUrl("postgresql://ams@db/amoro")));
  EXPECT_FALSE(UsesMysql(WithUrl("host=db dbname=amoro user=ams")));
}

TEST(BackendsTest, DatabaseTlsBecomesMysqlSslParametersThatOverrideTheUrls) {
  Config c = WithUrl("mysql://ams@db/amoro?ssl-mode=DISABLED");
  c.database.tls.ca_file = "/etc/ams-ha/tls/ca.crt";
  c.database.tls.cert_file = "/etc/ams-ha/tls/tls.crt";
  c.database.tls.key_file = "/etc/ams-ha/tls/tls.key";
  auto url = ParseMysqlUrl(DatabaseOptions(c).url);
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->ssl_mode, MysqlUrl::SslMode::kVerifyIdentity) << "a CA file means verify";
  EXPECT_EQ(url->ssl_ca, "/etc/ams-ha/tls/ca.crt");
  EXPECT_EQ(url->ssl_cert, "/etc/ams-ha/tls/tls.crt");
  EXPECT_EQ(url->ssl_key, "/etc/ams-ha/tls/tls.key");

  c.database.tls = {};
  c.database.tls.mode = "require";
  url = ParseMysqlUrl(DatabaseOptions(c).url);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->ssl_mode, MysqlUrl::SslMode::kRequired);
  c.database.tls.mode = "disable";
  url = ParseMysqlUrl(DatabaseOptions(c).url);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->ssl_mode, MysqlUrl::SslMode::kDisabled);
}

TEST(BackendsTest, NoTlsSettingsLeaveTheMysqlUrlAlone) {
  EXPECT_EQ(DatabaseOptions(WithUrl("mysql://ams@db/amoro")).url, "mysql://ams@db/amoro");
}

}  // namespace
}  // namespace amsha

namespace amsha {
namespace {

TEST(BackendsTest, TheFeedListensOnPostgresOnlyAndOnlyWhenAsked) {
  Config pg = WithUrl("postgresql://ams@db:5432/amoro");
  Config my = WithUrl("mysql://ams@db:3306/amoro");
  EXPECT_TRUE(static_cast<bool>(LeaseListenerFactory(pg, true)));
  EXPECT_FALSE(static_cast<bool>(LeaseListenerFactory(pg, false)));
  EXPECT_FALSE(static_cast<bool>(LeaseListenerFactory(my, true)));
}

TEST(BackendsTest, ThePoolsStoreFactoryOpensAStoreWithoutConnecting) {
  Config pg = WithUrl("postgresql://ams@127.0.0.1:1/amoro");  // nothing listens there
  LeaseStorePool pool(LeaseStoreFactory(pg), 2);
  EXPECT_EQ(pool.OpenConnections(), 0);
  auto store = LeaseStoreFactory(pg)();
  EXPECT_TRUE(store.ok()) << store.status().ToString();
}

}  // namespace
}  // namespace amsha
