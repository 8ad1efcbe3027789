#include "kube/exec_credential.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "kube/kube_connection.h"
#include "kube/rest_kube_api.h"
#include "support/test_env.h"

namespace amsha {
namespace {

std::string Rfc3339(WallTime t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TEST(ParseRfc3339Test, ReadsUtcOffsetsAndFractions) {
  auto t = ParseRfc3339("2027-01-15T08:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1800000000);
  auto offset = ParseRfc3339("2027-01-15T09:30:00+01:30");
  ASSERT_TRUE(offset);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*offset), 1800000000);
  auto frac = ParseRfc3339("2027-01-15T08:00:00.5Z");
  ASSERT_TRUE(frac);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(*frac - *t).count(), 500);
  for (const char* bad : {"", "2027-01-15", "2027-01-15T08:00:00", "2027-13-15T08:00:00Z",
                          "2027-01-15T08:00:00+0100", "tomorrow"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

constexpr char kV1[] = "client.authentication.k8s.io/v1";

TEST(ParseExecCredentialTest, ReadsTokenAndExpiry) {
  auto cred = ParseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
      R"("status":{"token":"abc","expirationTimestamp":"2027-01-15T08:00:00Z"}})",
      kV1);
  ASSERT_TRUE(cred.ok()) << cred.status().ToString();
  EXPECT_EQ(cred->token, "abc");
  ASSERT_TRUE(cred->expiry);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*cred->expiry), 1800000000);
}

TEST(ParseExecCredentialTest, ReadsAClientCertificatePair) {
  auto cred = ParseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
      R"("status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----\nX\n",)"
      R"("clientKeyData":"-----BEGIN PRIVATE KEY-----\nY\n"}})",
      kV1);
  ASSERT_TRUE(cred.ok()) << cred.status().ToString();
  EXPECT_EQ(cred->client_cert_pem, "-----BEGIN CERTIFICATE-----\nX\n");
  EXPECT_EQ(cred->client_key_pem, "-----BEGIN PRIVATE KEY-----\nY\n");
  EXPECT_FALSE(cred->expiry);
}

TEST(ParseExecCredentialTest, RejectsWhatClientGoRejects) {
  struct Case {
    const char* output;
    const char* error;
  };
  const Case cases[] = {
      {"not json {", "did not print an ExecCredential"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"Pod"})", "not an ExecCredential"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",)"
       R"("status":{"token":"t"}})",
       "is configured to use API version client.authentication.k8s.io/v1, plugin returned "
       "version client.authentication.k8s.io/v1beta1"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"})",
       "didn't return a status field"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}})",
       "didn't return a token or cert/key pair"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
       R"("status":{"clientCertificateData":"C"}})",
       "returned only certificate or key, not both"},
      {R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
       R"("status":{"token":"t","expirationTimestamp":"soon"}})",
       "expirationTimestamp \"soon\", which is not an RFC 3339 time"},
  };
  for (const Case& c : cases) {
    auto cred = ParseExecCredential(c.output, kV1);
    ASSERT_FALSE(cred.ok()) << c.output;
    EXPECT_NE(cred.status().message().find(c.error), std::string::npos) << cred.status().message();
  }
}

// A plugin script in a temporary directory.
class ExecPluginTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("execplugin-"); }
  void TearDown() override {
    std::string out;
    testing::RunCommand("rm -rf '" + dir_ + "'", &out);
  }
  std::string Script(const std::string& body) {
    std::string path = dir_ + "/plugin.sh";
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path;
  }
  // A plugin that counts its runs in DIR/runs, saves its exec info, argv,
  // env and whether stdin is /dev/null, and prints token "<prefix>-<run>"
  // expiring at $EXPIRY (none when empty).
  ExecConfig CountingPlugin() {
    ExecConfig config;
    config.api_version = kV1;
    config.command = Script(
        "n=$(cat \"$DIR/runs\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$DIR/runs\"\n"
        "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$DIR/info\"\n"
        "echo \"$@\" > \"$DIR/args\"\n"
        "if [ -t 0 ]; then echo tty > \"$DIR/stdin\";\n"
        "elif [ -z \"$KEEP_STDIN\" ]; then cat > \"$DIR/stdin\"; fi\n"
        "exp=''; [ -n \"$EXPIRY\" ] && exp=\",\\\"expirationTimestamp\\\":\\\"$EXPIRY\\\"\"\n"
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
        "\"status\":{\"token\":\"%s-%s\"%s}}' \"$PREFIX\" \"$n\" \"$exp\"\n");
    config.args = {"get-token", "--cluster", "prod"};
    config.env = {{"DIR", dir_}, {"PREFIX", "tok"}, {"EXPIRY", ""}};
    config.interactive_mode = "Never";
    config.user = "u";
    config.server = "https://h:1";
    return config;
  }
  ExecCredentialPlugin::Options Opts() {
    ExecCredentialPlugin::Options options;
    options.clock = &clock_;
    options.stdin_is_terminal = false;
    return options;
  }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return s;
  }

  std::string dir_;
  FakeClock clock_;
};

TEST_F(ExecPluginTest, RunsTheCommandWithArgsEnvAndExecInfoAndCachesATokenWithoutExpiry) {
  ExecCredentialPlugin plugin(CountingPlugin(), Opts());
  auto cred = plugin.Get();
  ASSERT_TRUE(cred.ok()) << cred.status().ToString();
  EXPECT_EQ(cred->token, "tok-1");
  EXPECT_EQ(Read("args"), "get-token --cluster prod\n");
  EXPECT_EQ(Read("info"),
            R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
            R"("spec":{"interactive":false}})");
  EXPECT_EQ(Read("stdin"), "") << "interactiveMode Never: stdin is /dev/null";
  clock_.Advance(std::chrono::hours(24));
  EXPECT_EQ(plugin.Get()->token, "tok-1") << "no expiry: cached until a 401";
  EXPECT_EQ(plugin.runs(), 1);
}

TEST_F(ExecPluginTest, ProvideClusterInfoPutsTheClusterInTheExecInfo) {
  ExecConfig config = CountingPlugin();
  config.provide_cluster_info = true;
  config.ca_pem = "CA";
  ExecCredentialPlugin plugin(config, Opts());
  ASSERT_TRUE(plugin.Get().ok());
  EXPECT_EQ(Read("info"),
            R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
            R"("spec":{"interactive":false,"cluster":{"server":"https://h:1",)"
            R"("certificate-authority-data":"Q0E="}}})");
}

TEST_F(ExecPluginTest, RunsAgainShortlyBeforeTheExpiry) {
  ExecConfig config = CountingPlugin();
  // Lifetime 100 s: re-run within the last 10 s.
  config.env[2].second = Rfc3339(clock_.WallNow() + std::chrono::seconds(100));
  ExecCredentialPlugin plugin(config, Opts());
  EXPECT_EQ(plugin.Get()->token, "tok-1");
  clock_.Advance(std::chrono::seconds(89));
  EXPECT_EQ(plugin.Get()->token, "tok-1");
  EXPECT_EQ(plugin.runs(), 1);
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_EQ(plugin.Get()->token, "tok-2") << "91 s of 100: within the margin";
  EXPECT_EQ(plugin.runs(), 2);
}

TEST_F(ExecPluginTest, AShortLivedCredentialIsRenewedAFifthOfItsLifetimeEarly) {
  ExecConfig config = CountingPlugin();
  config.env[2].second = Rfc3339(clock_.WallNow() + std::chrono::seconds(5));
  ExecCredentialPlugin plugin(config, Opts());
  EXPECT_EQ(plugin.Get()->token, "tok-1");
  clock_.Advance(std::chrono::milliseconds(3900));
  EXPECT_EQ(plugin.Get()->token, "tok-1");
  clock_.Advance(std::chrono::milliseconds(200));
  EXPECT_EQ(plugin.Get()->token, "tok-2");
}

TEST_F(ExecPluginTest, RefreshAfterA401RunsAgainOnceForTheRejectedToken) {
  ExecCredentialPlugin plugin(CountingPlugin(), Opts());
  ASSERT_EQ(plugin.Get()->token, "tok-1");
  EXPECT_TRUE(plugin.Refresh("tok-1"));
  EXPECT_EQ(plugin.Get()->token, "tok-2");
  // A second request that was rejected with the old token finds it replaced.
  EXPECT_TRUE(plugin.Refresh("tok-1"));
  EXPECT_EQ(plugin.runs(), 2);
}

TEST_F(ExecPluginTest, AMissingCommandNamesThePluginAndTheInstallHint) {
  ExecConfig config = CountingPlugin();
  config.command = "ams-ha-no-such-plugin";
  config.install_hint = "install it with: apt-get install the-plugin\nmore lines";
  ExecCredentialPlugin plugin(config, Opts());
  auto cred = plugin.Get();
  ASSERT_FALSE(cred.ok());
  EXPECT_EQ(cred.status().message(),
            "exec plugin \"ams-ha-no-such-plugin\" (kubeconfig user u): command not found in "
            "$PATH; install it with: apt-get install the-plugin");
}

TEST_F(ExecPluginTest, AFailingPluginGivesItsExitStatusAndFirstErrorLine) {
  ExecConfig config = CountingPlugin();
  config.command = Script(
      "echo 'error: SSO session expired; run aws sso login' >&2\n"
      "echo 'second line' >&2\nexit 3\n");
  ExecCredentialPlugin plugin(config, Opts());
  auto cred = plugin.Get();
  ASSERT_FALSE(cred.ok());
  EXPECT_EQ(cred.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(cred.status().message(),
            "exec plugin \"" + config.command +
                "\" (kubeconfig user u) failed: exit status 3: error: SSO session expired; run "
                "aws sso login");
}

TEST_F(ExecPluginTest, APluginPrintingTheWrongVersionIsRejected) {
  ExecConfig config = CountingPlugin();
  config.api_version = kExecApiV1beta1;
  ExecCredentialPlugin plugin(config, Opts());
  auto cred = plugin.Get();
  ASSERT_FALSE(cred.ok());
  EXPECT_NE(cred.status().message().find("plugin returned version client.authentication.k8s.io/v1"),
            std::string::npos)
      << cred.status().message();
}

TEST_F(ExecPluginTest, AHangingPluginIsKilledAfterTheTimeout) {
  ExecConfig config = CountingPlugin();
  config.command = Script("exec sleep 30\n");
  ExecCredentialPlugin::Options options = Opts();
  options.timeout = std::chrono::milliseconds(300);
  ExecCredentialPlugin plugin(config, options);
  auto start = std::chrono::steady_clock::now();
  auto cred = plugin.Get();
  ASSERT_FALSE(cred.ok());
  EXPECT_NE(cred.status().message().find("no answer within"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(ExecPluginTest, InteractiveModeAlwaysNeedsATerminal) {
  ExecConfig config = CountingPlugin();
  config.interactive_mode = "Always";
  ExecCredentialPlugin plugin(config, Opts());
  auto cred = plugin.Get();
  ASSERT_FALSE(cred.ok());
  EXPECT_NE(cred.status().message().find(
                "interactiveMode is Always but standard input is not a terminal"),
            std::string::npos);
  EXPECT_EQ(Read("runs"), "") << "not run at all";
}

TEST_F(ExecPluginTest, IfAvailableWithoutATerminalRunsNonInteractively) {
  ExecConfig config = CountingPlugin();
  config.interactive_mode = "IfAvailable";
  ExecCredentialPlugin plugin(config, Opts());
  ASSERT_TRUE(plugin.Get().ok());
  EXPECT_NE(Read("info").find("\"interactive\":false"), std::string::npos);
  EXPECT_EQ(Read("stdin"), "");
}

TEST_F(ExecPluginTest, IfAvailableWithATerminalRunsInteractively) {
  ExecConfig config = CountingPlugin();
  config.interactive_mode = "IfAvailable";
  // Our standard input is handed over: the plugin must not wait on it.
  config.env.emplace_back("KEEP_STDIN", "1");
  ExecCredentialPlugin::Options options = Opts();
  options.stdin_is_terminal = true;
  ExecCredentialPlugin plugin(config, options);
  ASSERT_TRUE(plugin.Get().ok());
  EXPECT_NE(Read("info").find("\"interactive\":true"), std::string::npos) << Read("info");
}

TEST_F(ExecPluginTest, NeverIsNeverInteractiveEvenWithATerminal) {
  ExecCredentialPlugin::Options options = Opts();
  options.stdin_is_terminal = true;
  ExecCredentialPlugin plugin(CountingPlugin(), options);
  ASSERT_TRUE(plugin.Get().ok());
  EXPECT_NE(Read("info").find("\"interactive\":false"), std::string::npos) << Read("info");
  EXPECT_EQ(Read("stdin"), "");
}

TEST_F(ExecPluginTest, AFailedRerunKeepsTheCachedCredentialUntilItExpires) {
  ExecConfig config = CountingPlugin();
  config.env[2].second = Rfc3339(clock_.WallNow() + std::chrono::seconds(100));
  ExecCredentialPlugin plugin(config, Opts());
  ASSERT_EQ(plugin.Get()->token, "tok-1");
  // The plugin breaks: inside the margin the cached token still serves.
  std::ofstream(config.command) << "#!/bin/sh\nexit 1\n";
  clock_.Advance(std::chrono::seconds(95));
  EXPECT_EQ(plugin.Get()->token, "tok-1");
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_FALSE(plugin.Get().ok()) << "expired, and no new one";
}

// A plugin that returns a client certificate: RestKubeApi presents it (an
// unusable one is a start-up error, as for a kubeconfig's own).
TEST_F(ExecPluginTest, RestKubeApiUsesTheClientCertificateThePluginReturns) {
  std::string out;
  ASSERT_EQ(testing::RunCommand("cd '" + dir_ +
                                    "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout "
                                    "key.pem -out cert.pem -days 1 -subj /CN=exec-user 2>&1",
                                &out),
            0)
      << out;
  ExecConfig config = CountingPlugin();
  config.command = Script(
      "pem() { awk '{printf \"%s\\\\n\", $0}' \"$1\"; }\n"
      "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"clientCertificateData\":\"%s\",\"clientKeyData\":\"%s\"}}' "
      "\"$(pem \"$CERT\")\" \"$(pem \"$KEY\")\"\n");
  config.env = {{"CERT", dir_ + "/cert.pem"}, {"KEY", dir_ + "/key.pem"}};
  KubeConnection conn;
  conn.server = "https://127.0.0.1:1";
  conn.source = "test";
  conn.exec = config;
  StatusOr<std::unique_ptr<RestKubeApi>> api = RestKubeApi::Create(conn);
  EXPECT_TRUE(api.ok()) << api.status().ToString();

  config.env = {{"CERT", dir_ + "/key.pem"}, {"KEY", dir_ + "/cert.pem"}};  // swapped
  conn.exec = config;
  api = RestKubeApi::Create(conn);
  ASSERT_FALSE(api.ok());
  EXPECT_NE(api.status().message().find("TLS settings of test are unusable"), std::string::npos)
      << api.status().message();
}

}  // namespace
}  // namespace amsha
