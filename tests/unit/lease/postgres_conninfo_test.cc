#include "lease/postgres_conninfo.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <map>
#include <string>

namespace amsha {
namespace {

using std::chrono::milliseconds;

// What libpq itself makes of a connection string: keyword -> value.
std::map<std::string, std::string> ParseWithLibpq(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  std::map<std::string, std::string> out;
  if (options == nullptr) {
    out["<error>"] = error ? error : "unknown";
    PQfreemem(error);
    return out;
  }
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) out[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return out;
}

// Every character libpq's two syntaxes treat specially.
constexpr char kNastyPassword[] = "p@ss w'rd\\&?=%/#:\"x\"";

TEST(TlsConnParamsTest, ACaFileWithoutAModeMeansVerifyFull) {
  auto params = TlsConnParams("", "/tls/ca.crt", "/tls/tls.crt", "/tls/tls.key");
  std::string uri = AppendConnParams("postgresql://ams@db/amoro?sslmode=prefer", params);
  auto parsed = ParseWithLibpq(uri);
  EXPECT_EQ(parsed["sslmode"], "verify-full") << "overrides the URL's prefer";
  EXPECT_EQ(parsed["sslrootcert"], "/tls/ca.crt");
  EXPECT_EQ(parsed["sslcert"], "/tls/tls.crt");
  EXPECT_EQ(parsed["sslkey"], "/tls/tls.key");
  auto kv = ParseWithLibpq(AppendConnParams("host=db sslmode=disable", params));
  EXPECT_EQ(kv["sslmode"], "verify-full");
  EXPECT_EQ(kv["sslrootcert"], "/tls/ca.crt");
}

TEST(TlsConnParamsTest, NothingSetAddsNothing) {
  EXPECT_TRUE(TlsConnParams("", "", "", "").empty());
  EXPECT_EQ(AppendConnParams("postgresql://db/a", {}), "postgresql://db/a");
  auto params = TlsConnParams("require", "", "", "");
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].second, "require");
}

TEST(ComposeConnInfoTest, UriWithoutQueryGetsOne) {
  EXPECT_EQ(ComposeConnInfo("postgresql://ams@db:5432/amsha", "secret", milliseconds(5000)),
            "postgresql://ams@db:5432/amsha?password=secret&connect_timeout=5"
            "&fallback_application_name=ams-ha-controller");
}

TEST(ComposeConnInfoTest, UriWithQueryIsExtendedWithAmpersand) {
  EXPECT_EQ(
      ComposeConnInfo("postgres://ams@db/amsha?sslmode=require", "secret", milliseconds(5000)),
      "postgres://ams@db/amsha?sslmode=require&password=secret&connect_timeout=5"
      "&fallback_application_name=ams-ha-controller");
}

TEST(ComposeConnInfoTest, UriEndingInQuestionMarkIsNotGivenAnother) {
  EXPECT_EQ(ComposeConnInfo("postgresql://db/amsha?", "", milliseconds(2000)),
            "postgresql://db/amsha?connect_timeout=2&fallback_application_name=ams-ha-controller");
}

TEST(ComposeConnInfoTest, KeyValueStringGetsQuotedValues) {
  EXPECT_EQ(ComposeConnInfo("host=db dbname=amsha user=ams", "it's", milliseconds(5000)),
            "host=db dbname=amsha user=ams password='it\\'s' connect_timeout='5'"
            " fallback_application_name='ams-ha-controller'");
}

TEST(ComposeConnInfoTest, EmptyPasswordAddsNoPasswordKeyword) {
  auto parsed = ParseWithLibpq(ComposeConnInfo("host=db", "", milliseconds(5000)));
  EXPECT_EQ(parsed.count("password"), 0u);
  parsed = ParseWithLibpq(ComposeConnInfo("postgresql://db/x", "", milliseconds(5000)));
  EXPECT_EQ(parsed.count("password"), 0u);
}

TEST(ComposeConnInfoTest, LibpqReadsBackTheExactPasswordFromEveryForm) {
  for (const std::string url :
       {"postgresql://ams@db:5432/amsha", "postgresql://ams@db:5432/amsha?sslmode=disable",
        "postgres://ams@db/amsha?", "host=db port=5432 dbname=amsha user=ams",
        "host='db' dbname = 'amsha' user=ams "}) {
    auto parsed = ParseWithLibpq(ComposeConnInfo(url, kNastyPassword, milliseconds(5000)));
    EXPECT_EQ(parsed.count("<error>"), 0u) << url << ": " << parsed["<error>"];
    EXPECT_EQ(parsed["password"], kNastyPassword) << url;
    EXPECT_EQ(parsed["host"], "db") << url;
    EXPECT_EQ(parsed["dbname"], "amsha") << url;
    EXPECT_EQ(parsed["user"], "ams") << url;
    EXPECT_EQ(parsed["connect_timeout"], "5") << url;
    EXPECT_EQ(parsed["fallback_application_name"], "ams-ha-controller") << url;
  }
}

TEST(ComposeConnInfoTest, SeparatePasswordOverridesOneInTheUrl) {
  auto parsed = ParseWithLibpq(
      ComposeConnInfo("postgresql://ams:old@db/amsha?password=older", "new", milliseconds(5000)));
  EXPECT_EQ(parsed["password"], "new");
  parsed = ParseWithLibpq(ComposeConnInfo("host=db password=old", "new", milliseconds(5000)));
  EXPECT_EQ(parsed["password"], "new");
}

TEST(ComposeConnInfoTest, ConnectTimeoutRoundsUpToWholeSeconds) {
  EXPECT_EQ(ParseWithLibpq(ComposeConnInfo("host=db", "", milliseconds(1500)))["connect_timeout"],
            "2");
  EXPECT_EQ(ParseWithLibpq(ComposeConnInfo("host=db", "", milliseconds(1)))["connect_timeout"],
            "1");
  EXPECT_EQ(ParseWithLibpq(ComposeConnInfo("host=db", "", milliseconds(3000)))["connect_timeout"],
            "3");
}

TEST(PercentEncodeTest, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("a b&c=d%"), "a%20b%26c%3Dd%25");
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");
}

TEST(ValidateTableNameTest, AcceptsPlainAndSchemaQualifiedLowercaseIdentifiers) {
  for (const char* ok : {"ha_lease", "_t", "t1", "amoro.ha_lease", "s_1.t_2"}) {
    EXPECT_TRUE(ValidateTableName(ok).ok()) << ok;
  }
}

TEST(ValidateTableNameTest, RejectsAnythingThatWouldNeedQuotingOrInjectSql) {
  for (const char* bad : {"", "Ha_lease", "ha-lease", "ha_lease; DROP TABLE x", "a.b.c", "1abc",
                          ".t", "s.", "\"t\"", "t ", "ha_lease--"}) {
    Status s = ValidateTableName(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidateTableNameTest, LimitsTheTableSoIndexNamesFitIn63Characters) {
  EXPECT_TRUE(ValidateTableName(std::string(52, 't')).ok());
  EXPECT_FALSE(ValidateTableName(std::string(53, 't')).ok());
  EXPECT_TRUE(ValidateTableName(std::string(63, 's') + "." + std::string(52, 't')).ok());
  EXPECT_FALSE(ValidateTableName(std::string(64, 's') + ".t").ok());
}

TEST(QuoteTableNameTest, QuotesEachPart) {
  EXPECT_EQ(QuoteTableName("ha_lease"), "\"ha_lease\"");
  EXPECT_EQ(QuoteTableName("amoro.ha_lease"), "\"amoro\".\"ha_lease\"");
  EXPECT_EQ(UnqualifiedTableName("amoro.ha_lease"), "ha_lease");
  EXPECT_EQ(UnqualifiedTableName("ha_lease"), "ha_lease");
}

TEST(RedactSecretTest, MasksTheRawAndEscapedForms) {
  const std::string secret = "it's a&b";
  EXPECT_EQ(RedactSecret("x it's a&b y", secret), "x **** y");
  EXPECT_EQ(RedactSecret("x " + PercentEncode(secret) + " y", secret), "x **** y");
  EXPECT_EQ(RedactSecret("x it\\'s a&b y", secret), "x **** y");
  EXPECT_EQ(RedactSecret(ComposeConnInfo("host=db", secret, milliseconds(1000)), secret),
            "host=db password='****' connect_timeout='1'"
            " fallback_application_name='ams-ha-controller'");
  EXPECT_EQ(RedactSecret(ComposeConnInfo("postgresql://db/x", secret, milliseconds(1000)), secret),
            "postgresql://db/x?password=****&connect_timeout=1"
            "&fallback_application_name=ams-ha-controller");
}

TEST(RedactSecretTest, LeavesMessagesAloneForTinySecrets) {
  EXPECT_EQ(RedactSecret("a connection failed", "a"), "a connection failed");
  EXPECT_EQ(RedactSecret("nothing here", ""), "nothing here");
}

}  // namespace
}  // namespace amsha
