#include "kube/kube_connection.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <utility>
#include <vector>

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

TEST_F(KubeConnectionTest, AuthProvidersAreRejectedWithTheAlternatives) {
  std::string path = Kubeconfig("    server: https://h:1\n",
                                "    auth-provider:\n"
                                "      name: gcp\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("uses auth-provider, which this controller does not "
                                         "support; use a token, tokenFile, a client certificate "
                                         "or an exec plugin"),
            std::string::npos)
      << conn.status().message();
}

TEST_F(KubeConnectionTest, AnExecPluginIsReadWithArgsEnvModeAndTheClusterForExecInfo) {
  Write("conf/certs/ca.crt", kCaPem);
  std::string path = Kubeconfig(
      "    server: https://h:1\n"
      "    certificate-authority: certs/ca.crt\n",
      "    exec:\n"
      "      apiVersion: client.authentication.k8s.io/v1\n"
      "      command: bin/get-token\n"
      "      args: [eks, get-token, --cluster-name, prod]\n"
      "      env:\n"
      "      - {name: AWS_PROFILE, value: ops}\n"
      "      interactiveMode: Never\n"
      "      provideClusterInfo: true\n"
      "      installHint: install get-token from your cloud's CLI\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE(conn->exec.has_value());
  const ExecConfig& exec = *conn->exec;
  EXPECT_EQ(exec.api_version, "client.authentication.k8s.io/v1");
  // A relative command with a '/' is relative to the kubeconfig's directory.
  EXPECT_EQ(exec.command, dir_ + "/conf/bin/get-token");
  EXPECT_EQ(exec.args, (std::vector<std::string>{"eks", "get-token", "--cluster-name", "prod"}));
  ASSERT_EQ(exec.env.size(), 1u);
  EXPECT_EQ(exec.env[0], (std::pair<std::string, std::string>{"AWS_PROFILE", "ops"}));
  EXPECT_EQ(exec.interactive_mode, "Never");
  EXPECT_TRUE(exec.provide_cluster_info);
  EXPECT_EQ(exec.install_hint, "install get-token from your cloud's CLI");
  EXPECT_EQ(exec.user, "u");
  EXPECT_EQ(exec.server, "https://h:1");
  EXPECT_EQ(exec.ca_pem, kCaPem);
  EXPECT_TRUE(conn->token.empty());
}

TEST_F(KubeConnectionTest, ABareExecCommandIsLeftForPathLookupAndV1beta1DefaultsToIfAvailable) {
  std::string path = Kubeconfig("    server: https://h:1\n",
                                "    exec:\n"
                                "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                "      command: aws\n");
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->exec->command, "aws");
  EXPECT_EQ(conn->exec->interactive_mode, "IfAvailable");
  EXPECT_FALSE(conn->exec->provide_cluster_info);
}

TEST_F(KubeConnectionTest, ExecPluginsAreValidatedAsClientGoDoes) {
  struct Case {
    std::string exec;
    std::string error;
  };
  const Case cases[] = {
      {"      command: aws\n", "exec: apiVersion must be specified"},
      {"      apiVersion: client.authentication.k8s.io/v1alpha1\n      command: aws\n",
       "apiVersion client.authentication.k8s.io/v1alpha1 is not supported; use "
       "client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1"},
      {"      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n",
       "exec: command must be specified"},
      {"      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n",
       "exec: interactiveMode must be specified for client.authentication.k8s.io/v1"},
      {"      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n"
       "      interactiveMode: Sometimes\n",
       "exec: invalid interactiveMode Sometimes; use Never, IfAvailable or Always"},
      {"      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n"
       "      env: [{value: x}]\n",
       "exec: env variable name must be specified"},
  };
  for (const Case& c : cases) {
    std::string path = Kubeconfig("    server: https://h:1\n", "    exec:\n" + c.exec);
    StatusOr<KubeConnection> conn = LoadKubeconfig(path);
    ASSERT_FALSE(conn.ok()) << c.exec;
    EXPECT_EQ(conn.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(conn.status().message().find(c.error), std::string::npos) << conn.status().message();
    EXPECT_EQ(conn.status().message().rfind("kubeconfig " + path + ":", 0), 0u)
        << conn.status().message();
  }
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

TEST_F(KubeConnectionTest, KubeconfigEnvironmentWinsOverInCluster) {
  Write("sa/token", "t");
  Write("sa/ca.crt", kCaPem);
  std::string path = Kubeconfig("    server: https://fromenv:1\n", "    token: t\n");
  auto env = FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                      {"KUBERNETES_SERVICE_PORT", "443"},
                      {"KUBECONFIG", path}});
  StatusOr<KubeConnection> conn = LoadKubeConnection("", "", dir_ + "/sa", env);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://fromenv:1");
}

TEST_F(KubeConnectionTest, InClusterWinsOverTheHomeFile) {
  Write("sa/token", "t");
  Write("sa/ca.crt", kCaPem);
  Write("home/.kube/config",
        "current-context: a\n"
        "contexts: [{name: a, context: {cluster: c}}]\n"
        "clusters: [{name: c, cluster: {server: 'http://home:8080'}}]\n");
  StatusOr<KubeConnection> conn =
      LoadKubeConnection("", "", dir_ + "/sa",
                         FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                  {"KUBERNETES_SERVICE_PORT", "443"},
                                  {"HOME", dir_ + "/home"}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://10.0.0.1:443");
}

TEST_F(KubeConnectionTest, UnusableInClusterSettingsFallBackToTheHomeFile) {
  Write("home/.kube/config",
        "current-context: a\n"
        "contexts: [{name: a, context: {cluster: c}}]\n"
        "clusters: [{name: c, cluster: {server: 'http://home:8080'}}]\n");
  // No service-account token mounted.
  auto env = FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                      {"KUBERNETES_SERVICE_PORT", "443"},
                      {"HOME", dir_ + "/home"}});
  StatusOr<KubeConnection> conn = LoadKubeConnection("", "", dir_ + "/sa", env);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "http://home:8080");
  // Without the home file the in-cluster error says what is missing.
  conn = LoadKubeConnection(
      "", "", dir_ + "/sa",
      FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("in-cluster: service-account token"), std::string::npos)
      << conn.status().message();
}

TEST_F(KubeConnectionTest, AKubeconfigListWhoseFilesAreAllMissingFallsBackToInCluster) {
  Write("sa/token", "t");
  Write("sa/ca.crt", kCaPem);
  StatusOr<KubeConnection> conn =
      LoadKubeConnection("", "", dir_ + "/sa",
                         FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                  {"KUBERNETES_SERVICE_PORT", "443"},
                                  {"KUBECONFIG", dir_ + "/missing"}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->source, "in-cluster");

  conn = LoadKubeConnection("", "", dir_ + "/sa", FakeEnv({{"KUBECONFIG", dir_ + "/missing"}}));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().message(), "kubeconfig: no file of $KUBECONFIG exists (" + dir_ +
                                         "/missing); fix KUBECONFIG or pass --kubeconfig FILE");
}

TEST_F(KubeConnectionTest, AContextFlagWithoutAKubeconfigIsAnError) {
  Write("sa/token", "t");
  Write("sa/ca.crt", kCaPem);
  StatusOr<KubeConnection> conn = LoadKubeConnection(
      "", "prod", dir_ + "/sa",
      FakeEnv({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("--context prod: no kubeconfig"), std::string::npos)
      << conn.status().message();
}

// KUBECONFIG=a:b is merged as client-go's loader.go merges it.
class KubeconfigMergeTest : public KubeConnectionTest {
 protected:
  void SetUp() override {
    KubeConnectionTest::SetUp();
    // a: current-context "ca"; context "shared" -> cluster "shared" (a's
    // server), user "shared" with a's token; a CA relative to a's directory.
    Write("a/ca.crt", "CA-A");
    a_ = Write("a/config",
               "current-context: ca\n"
               "contexts:\n"
               "- {name: ca, context: {cluster: shared, user: shared, namespace: from-a}}\n"
               "- {name: shared, context: {cluster: shared, user: shared}}\n"
               "clusters:\n"
               "- {name: shared, cluster: {server: 'https://a:1', certificate-authority: ca.crt}}\n"
               "users:\n"
               "- {name: shared, user: {token: token-a}}\n");
    // b: no current-context... then c sets one; b redefines "shared" (loses)
    // and adds "cb", cluster "only-b" with a CA relative to b's directory.
    Write("b/ca.crt", "CA-B");
    b_ = Write("b/config",
               "contexts:\n"
               "- {name: shared, context: {cluster: only-b, user: shared}}\n"
               "- {name: cb, context: {cluster: only-b, user: user-b, namespace: from-b}}\n"
               "clusters:\n"
               "- {name: shared, cluster: {server: 'https://b-shared:1'}}\n"
               "- {name: only-b, cluster: {server: 'https://b:1', certificate-authority: ca.crt}}\n"
               "users:\n"
               "- {name: shared, user: {token: token-b, client-certificate-data: Q0VSVA==, "
               "client-key-data: S0VZ}}\n"
               "- {name: user-b, user: {token: token-user-b}}\n");
    c_ = Write("c/config", "current-context: cb\n");
  }
  StatusOr<KubeConnection> Load(const std::string& list, const std::string& context = "") {
    return LoadKubeConnection("", context, dir_ + "/sa", FakeEnv({{"KUBECONFIG", list}}));
  }
  std::string a_, b_, c_;
};

TEST_F(KubeconfigMergeTest, TheFirstFileToSetCurrentContextWinsIt) {
  StatusOr<KubeConnection> conn = Load(b_ + ":" + c_ + ":" + a_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->namespace_name, "from-b") << "c's current-context cb, defined in b";
  EXPECT_EQ(conn->server, "https://b:1");
  EXPECT_EQ(conn->token, "token-user-b");
  EXPECT_EQ(conn->ca_pem, "CA-B") << "relative to b's directory";
  EXPECT_EQ(conn->source, "kubeconfig " + b_ + ":" + c_ + ":" + a_ + " (context cb)");

  conn = Load(a_ + ":" + c_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->namespace_name, "from-a");
}

TEST_F(KubeconfigMergeTest, TheFirstFileToDefineANameWinsTheWholeEntry) {
  StatusOr<KubeConnection> conn = Load(a_ + ":" + b_, "shared");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  // Context, cluster and user "shared" all come from a, whole: b's
  // client certificate of user "shared" is not mixed in.
  EXPECT_EQ(conn->server, "https://a:1");
  EXPECT_EQ(conn->ca_pem, "CA-A") << "relative to a's directory, where it was named";
  EXPECT_EQ(conn->token, "token-a");
  EXPECT_TRUE(conn->client_cert_pem.empty());

  conn = Load(b_ + ":" + a_, "shared");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://b:1") << "b's context shared names cluster only-b";
  EXPECT_EQ(conn->token, "token-b");
}

TEST_F(KubeconfigMergeTest, EntriesOfLaterFilesAreReachable) {
  StatusOr<KubeConnection> conn = Load(a_ + ":" + b_, "cb");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://b:1");
  EXPECT_EQ(conn->token, "token-user-b");
}

TEST_F(KubeconfigMergeTest, MissingFilesAreSkippedDuplicatesReadOnceAndEmptyItemsIgnored) {
  StatusOr<KubeConnection> conn = Load(dir_ + "/nope::" + a_ + ":" + a_ + ":" + b_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->server, "https://a:1");
  EXPECT_EQ(conn->source, "kubeconfig " + a_ + ":" + b_ + " (context ca)");
}

TEST_F(KubeconfigMergeTest, ABrokenFileInTheListIsAnErrorNamingIt) {
  std::string broken = Write("broken/config", "clusters: [\n");
  StatusOr<KubeConnection> conn = Load(a_ + ":" + broken);
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().message().rfind("kubeconfig " + broken + ":", 0), 0u)
      << conn.status().message();
}

TEST_F(KubeconfigMergeTest, AnUnknownContextListsTheContextsOfEveryFile) {
  StatusOr<KubeConnection> conn = Load(a_ + ":" + b_, "prod");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().message(), "kubeconfig " + a_ + ":" + b_ +
                                         ": context \"prod\" not found (defined: ca, cb, "
                                         "shared)");
}

TEST_F(KubeconfigMergeTest, NoCurrentContextAnywhereAsksForTheContextFlag) {
  StatusOr<KubeConnection> conn = Load(b_);
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("no current-context set; pass --context NAME"),
            std::string::npos)
      << conn.status().message();
}

TEST_F(KubeconfigMergeTest, AnExplicitKubeconfigIsReadAloneAndMustExist) {
  StatusOr<KubeConnection> conn =
      LoadKubeConnection(b_, "cb", dir_ + "/sa", FakeEnv({{"KUBECONFIG", a_}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ(conn->source, "kubeconfig " + b_ + " (context cb)");
  conn = LoadKubeConnection(b_, "", dir_ + "/sa", FakeEnv({{"KUBECONFIG", c_}}));
  ASSERT_FALSE(conn.ok()) << "c's current-context is not merged into an explicit file";

  conn = LoadKubeConnection(dir_ + "/nope", "", dir_ + "/sa", FakeEnv({{"KUBECONFIG", a_}}));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kNotFound);
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

// As Go's base64.StdEncoding decodes a kubeconfig's []byte fields.
TEST(DecodeBase64Test, DecodesPaddedInputAndIgnoresLineBreaks) {
  EXPECT_EQ(DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(DecodeBase64("aGVs\r\nbG8h\n"), "hello!");
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_EQ(DecodeBase64(EncodeBase64(std::string("\0\xff\x10"
                                                  "ab",
                                                  5))),
            std::string("\0\xff\x10"
                        "ab",
                        5));
}

TEST(DecodeBase64Test, RejectsForeignCharactersMissingPaddingAndTruncatedInput) {
  EXPECT_EQ(DecodeBase64("aGV*"), std::nullopt);
  EXPECT_EQ(DecodeBase64("aGVsbG8"), std::nullopt);  // padding is required
  EXPECT_EQ(DecodeBase64("aGVsb"), std::nullopt);
  EXPECT_EQ(DecodeBase64("aG=Vs"), std::nullopt);      // data after padding
  EXPECT_EQ(DecodeBase64("aGVs bG8h"), std::nullopt);  // Go rejects spaces too
}

}  // namespace
}  // namespace amsha
