#include "kube/kube_connection.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "support/test_env.h"

namespace amsha {
namespace {

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
// base64 of kCaPem
constexpr char kCaPemBase64[] =
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K";

class KubeConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("kubeconn-"); }
  void TearDown() override {
    std::string out;
    testing::RunCommand("rm -rf '" + dir_ + "'", &out);
  }

  std::string Write(const std::string& relative, const std::string& content) {
    std::string path = dir_ + "/" + relative;
    std::string parent = path.substr(0, path.rfind('/'));
    std::string out;
    testing::RunCommand("mkdir -p '" + parent + "'", &out);
    std::ofstream(path) << content;
    return path;
  }

  // A kubeconfig with one context "ctx" -> cluster "c", user "u".
  std::string Kubeconfig(const std::string& cluster, const std::string& user,
                         const std::string& extra_context = "") {
    return Write("conf/kubeconfig",
                 "apiVersion: v1\n"
                 "kind: Config\n"
                 "current-context: ctx\n"
                 "contexts:\n"
                 "- name: ctx\n"
                 "  context:\n"
                 "    cluster: c\n"
                 "    user: u\n"
                 "    namespace: ams\n" +
                     extra_context +
                     "clusters:\n"
                     "- name: c\n"
                     "  cluster:\n" +
                     cluster +
                     "users:\n"
                     "- name: u\n"
                     "  user:\n" +
                     user);
  }

  std::string dir_;
};

TEST_F(KubeConnectionTest, TokenUserAndCaFileRelativeToTheKubeconfig) {
  Write("conf/certs/ca.crt", kCaPem);
  std::string path = Kubeconfig(
      "    server: https://127.0.0.1:6443/\n"
      "    certificate-authority: certs/ca.crt\n",
      "    token: secret-token\n");

  StatusOr<KubeConnection> conn = LoadKubeconfig(path);

  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://127.0.0.1:6443");
  EXPECT_EQ(conn->namespace_name, "ams");
  EXPECT_EQ(conn->ca_pem, kCaPem);
  EXPECT_EQ(conn->token, "secret-token");
  EXPECT_TRUE(conn->token_file.empty());
  EXPECT_FALSE(conn->insecure_skip_tls_verify);
  EXPECT_EQ(conn->source, "kubeconfig " + path + " (context ctx)");
}

TEST_F(KubeConnectionTest, CertificateAuthorityDataIsDecoded) {
  std::string path = Kubeconfig(
      "    server: https://k8s.example:443\n"
      "    certificate-authority-data: " +
          std::string(kCaPemBase64) + "\n",
      "    token: t\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->ca_pem, kCaPem);
}

TEST_F(KubeConnectionTest, TokenFileIsResolvedRelativeToTheKubeconfigAndNotInlined) {
  Write("conf/token", "file-token\n");
  std::string path = Kubeconfig("    server: https://h:1\n", "    tokenFile: token\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->token_file, dir_ + "/conf/token");
  EXPECT_TRUE(conn->token.empty());
}

TEST_F(KubeConnectionTest, ClientCertificateFilesAndDataAreRead) {
  Write("conf/client.crt", "CERT");
  std::string path = Kubeconfig("    server: https://h:1\n",
                                "    client-certificate: client.crt\n"
                                "    client-key-data: S0VZ\n");  // "KEY"
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->client_cert_pem, "CERT");
  EXPECT_EQ(conn->client_key_pem, "KEY");
}

TEST_F(KubeConnectionTest, InsecureSkipTlsVerifyIsHonoured) {
  std::string path = Kubeconfig(
      "    server: https://h:1\n"
      "    insecure-skip-tls-verify: true\n",
      "    token: t\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_TRUE(conn->insecure_skip_tls_verify);
}

TEST_F(KubeConnectionTest, AnExplicitContextOverridesTheCurrentOne) {
  std::string path = Kubeconfig("    server: https://h:1\n", "    token: t\n",
                                "- name: other\n"
                                "  context:\n"
                                "    cluster: c\n"
                                "    user: u\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path, "other");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->namespace_name, "");
  EXPECT_EQ(conn->source, "kubeconfig " + path + " (context other)");
}

TEST_F(KubeConnectionTest, AMissingFileIsNotFoundWithThePath) {
  StatusOr<KubeConnection> conn = LoadKubeconfig(dir_ + "/nope");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(conn.status().message(),
            "kubeconfig " + dir_ + "/nope: cannot read: No such file or directory");
}

TEST_F(KubeConnectionTest, AnUnknownContextListsTheDefinedOnes) {
  std::string path = Kubeconfig("    server: https://h:1\n", "    token: t\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path, "prod");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(conn.status().message(),
            "kubeconfig " + path + ": context \"prod\" not found (defined: ctx)");
}

TEST_F(KubeConnectionTest, AContextNamingAnUndefinedClusterSaysSo) {
  std::string path = Write("kubeconfig",
                           "current-context: ctx\n"
                           "contexts:\n"
                           "- name: ctx\n"
                           "  context: {cluster: gone, user: u}\n"
                           "clusters:\n"
                           "- name: c\n"
                           "  cluster: {server: https://h:1}\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().message(), "kubeconfig " + path +
                                         ": context \"ctx\" names cluster \"gone\", which is "
                                         "not defined (defined: c)");
}

TEST_F(KubeConnectionTest, AnUnreadableCaNamesTheFileAndItsLine) {
  std::string path = Kubeconfig(
      "    server: https://h:1\n"
      "    certificate-authority: missing-ca.crt\n",
      "    token: t\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(conn.status().message(), "kubeconfig " + path + ":14:28: certificate-authority " +
                                         dir_ +
                                         "/conf/missing-ca.crt: cannot read: No such file or "
                                         "directory");
}

TEST_F(KubeConnectionTest, AClusterWithoutServerIsRejected) {
  std::string path = Kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("cluster \"c\" has no server"), std::string::npos)
      << conn.status().message();
}

TEST_F(KubeConnectionTest, ExecPluginsAreRejectedWithTheAlternatives) {
  std::string path = Kubeconfig("    server: https://h:1\n",
                                "    exec:\n"
                                "      command: aws\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("uses exec, which this controller does not support"),
            std::string::npos)
      << conn.status().message();
}

TEST_F(KubeConnectionTest, ACertificateWithoutKeyIsRejected) {
  std::string path =
      Kubeconfig("    server: https://h:1\n", "    client-certificate-data: Q0VSVA==\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("needs both a client certificate and a client key"),
            std::string::npos);
}

TEST_F(KubeConnectionTest, BadBase64IsRejected) {
  std::string path = Kubeconfig(
      "    server: https://h:1\n"
      "    certificate-authority-data: not*base64\n",
      "    token: t\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("certificate-authority-data is not valid base64"),
            std::string::npos);
}

TEST_F(KubeConnectionTest, InvalidYamlReportsItsPosition) {
  std::string path = Write("kubeconfig", "clusters: [\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().message().rfind("kubeconfig " + path + ":", 0), 0u)
      << conn.status().message();
}

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST_F(KubeConnectionTest, InClusterSettingsComeFromTheEnvironmentAndServiceAccountFiles) {
  Write("sa/token", "sa-token\n");
  Write("sa/ca.crt", kCaPem);
  Write("sa/namespace", "ams\n");
  StatusOr<KubeConnection> conn = LoadInClusterConnection(
      dir_ + "/sa",
      FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://10.96.0.1:443");
  EXPECT_EQ(conn->token_file, dir_ + "/sa/token");
  EXPECT_EQ(conn->ca_pem, kCaPem);
  EXPECT_EQ(conn->namespace_name, "ams");
  EXPECT_EQ(conn->source, "in-cluster");
}

TEST_F(KubeConnectionTest, InClusterIpv6AddressesGetBrackets) {
  Write("sa/token", "t");
  Write("sa/ca.crt", kCaPem);
  StatusOr<KubeConnection> conn = LoadInClusterConnection(
      dir_ + "/sa",
      FakeEnv({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://[fd00::1]:443");
  EXPECT_EQ(conn->namespace_name, "");
}

TEST_F(KubeConnectionTest, InClusterWithoutTheEnvironmentNamesTheFix) {
  StatusOr<KubeConnection> conn = LoadInClusterConnection(dir_ + "/sa", FakeEnv({}));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(conn.status().message().find("pass --kubeconfig"), std::string::npos);
}

TEST_F(KubeConnectionTest, InClusterWithoutATokenFails) {
  Write("sa/ca.crt", kCaPem);
  StatusOr<KubeConnection> conn = LoadInClusterConnection(
      dir_ + "/sa",
      FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().message(), "in-cluster: service-account token " + dir_ +
                                         "/sa/token: cannot read: No such file or directory");
}

TEST_F(KubeConnectionTest, AnExplicitKubeconfigWinsOverInCluster) {
  std::string path = Kubeconfig("    server: https://explicit:1\n", "    token: t\n");
  StatusOr<KubeConnection> conn =
      LoadKubeConnection(path, "", dir_ + "/sa", FakeEnv({{"KUBERNETES_SERVICE_HOST", "x"}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://explicit:1");
}

TEST_F(KubeConnectionTest, InClusterWinsOverKubeconfigEnvironment) {
  Write("sa/token", "t");
  Write("sa/ca.crt", kCaPem);
  std::string path = Kubeconfig("    server: https://fromenv:1\n", "    token: t\n");
  StatusOr<KubeConnection> conn =
      LoadKubeConnection("", "", dir_ + "/sa",
                         FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                  {"KUBERNETES_SERVICE_PORT", "443"},
                                  {"KUBECONFIG", path}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://10.0.0.1:443");
}

TEST_F(KubeConnectionTest, TheFirstExistingFileOfKubeconfigIsUsed) {
  std::string path = Kubeconfig("    server: https://fromenv:1\n", "    token: t\n");
  StatusOr<KubeConnection> conn = LoadKubeConnection(
      "", "", dir_ + "/sa", FakeEnv({{"KUBECONFIG", dir_ + "/missing:" + path}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://fromenv:1");

  conn = LoadKubeConnection("", "", dir_ + "/sa", FakeEnv({{"KUBECONFIG", dir_ + "/missing"}}));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().message(),
            "kubeconfig: no file of $KUBECONFIG exists (" + dir_ + "/missing)");
}

TEST_F(KubeConnectionTest, HomeKubeConfigIsTheLastResort) {
  Write("home/.kube/config",
        "current-context: a\n"
        "contexts: [{name: a, context: {cluster: c}}]\n"
        "clusters: [{name: c, cluster: {server: 'http://home:8080'}}]\n");
  StatusOr<KubeConnection> conn =
      LoadKubeConnection("", "", dir_ + "/sa", FakeEnv({{"HOME", dir_ + "/home"}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "http://home:8080");
  EXPECT_TRUE(conn->token.empty());

  conn = LoadKubeConnection("", "", dir_ + "/sa", FakeEnv({}));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kFailedPrecondition);
}

TEST(DecodeBase64Test, DecodesWithAndWithoutPaddingAndIgnoresLineBreaks) {
  EXPECT_EQ(DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(DecodeBase64("aGVsbG8"), "hello");
  EXPECT_EQ(DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(DecodeBase64(""), "");
}

TEST(DecodeBase64Test, RejectsForeignCharactersAndTruncatedInput) {
  EXPECT_EQ(DecodeBase64("aGV*"), std::nullopt);
  EXPECT_EQ(DecodeBase64("aGVsb"), std::nullopt);  // 30 bits: not whole bytes
  EXPECT_EQ(DecodeBase64("aG=Vs"), std::nullopt);  // data after padding
}

}  // namespace
}  // namespace amsha
