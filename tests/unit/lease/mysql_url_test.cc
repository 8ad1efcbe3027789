#include "lease/mysql_url.h"

#include <gtest/gtest.h>

namespace amsha {
namespace {

TEST(MysqlUrlTest, ParsesUserHostPortDatabaseAndTlsOptions) {
  auto url = ParseMysqlUrl(
      "mysql://ams@db.example:3307/amoro?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fetc%2Fca.pem"
      "&tls-version=TLSv1.3");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->user, "ams");
  EXPECT_EQ(url->host, "db.example");
  EXPECT_EQ(url->port, 3307u);
  EXPECT_EQ(url->database, "amoro");
  EXPECT_EQ(url->ssl_mode, MysqlUrl::SslMode::kVerifyIdentity);
  EXPECT_EQ(url->ssl_ca, "/etc/ca.pem");
  EXPECT_EQ(url->tls_version, "TLSv1.3");
  EXPECT_TRUE(url->password.empty());
}

TEST(MysqlUrlTest, MariadbSchemeDefaultPortIpv6AndSocket) {
  auto url = ParseMysqlUrl("MariaDB://ams@[::1]/amsha?socket=/run/mysqld/mysqld.sock");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 3306u);
  EXPECT_EQ(url->socket, "/run/mysqld/mysqld.sock");
  EXPECT_EQ(url->ssl_mode, MysqlUrl::SslMode::kDisabled);
}

TEST(MysqlUrlTest, PercentEncodedUserAndPasswordAreDecoded) {
  auto url = ParseMysqlUrl("mysql://a%40b:p%40ss%3Aw@h:1/d");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->user, "a@b");
  EXPECT_EQ(url->password, "p@ss:w");
}

TEST(MysqlUrlTest, OnlyMysqlAndMariadbSchemesAreMysqlUrls) {
  EXPECT_TRUE(IsMysqlUrl("mysql://a@h/d"));
  EXPECT_TRUE(IsMysqlUrl("mariadb://a@h/d"));
  EXPECT_FALSE(IsMysqlUrl("postgresql://a@h/d"));
  EXPECT_FALSE(IsMysqlUrl("host=h dbname=d"));
}

TEST(MysqlUrlTest, MalformedUrlsNameTheirFaultAndNeverTheirPassword) {
  for (const char* bad :
       {"mysql://h/d", "mysql://a@h", "mysql://a@h/", "mysql://a@h:0/d", "mysql://a@h:65536/d",
        "mysql://a@h:x/d", "mysql://a@h/d?ssl-mode=PREFERRED", "mysql://a@h/d?useSSL=true",
        "mysql://a@h/d?ssl-ca", "mysql://a@[::1/d", "mysql://a:s3cret%zz@h/d"}) {
    auto url = ParseMysqlUrl(bad);
    EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(url.status().message().find("s3cret"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace amsha
