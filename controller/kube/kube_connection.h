// KubeConnection: where the Kubernetes API server is and how to talk to it.
//
// Loaded once at start-up, from the pod's service account (in-cluster) or
// kubeconfig files read as kubectl reads them (client-go
// tools/clientcmd/loader.go): a KUBECONFIG list is merged, the first file
// that defines a cluster, user or context name wins that name whole, the
// first file that sets current-context wins it, and relative paths are
// resolved against the file that named them. Every file a kubeconfig names
// (CA, client certificate and key) is read here, so a missing or unreadable
// file is a start-up error with one clear line, not a TLS failure later. The
// bearer token file is the exception: it is only checked here and re-read by
// TokenSource before requests, because service-account tokens rotate. An
// exec credential plugin is only described here (ExecConfig); RestKubeApi
// runs it (exec_credential.h).
// Plain values and free functions; thread-compatible.
#ifndef AMS_HA_KUBE_KUBE_CONNECTION_H_
#define AMS_HA_KUBE_KUBE_CONNECTION_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "kube/exec_credential.h"

namespace amsha {

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

struct KubeConnection {
  std::string server;          // "https://10.96.0.1:443", no trailing slash
  std::string namespace_name;  // "" when neither source names one
  // PEM bundle of the CA(s) that sign the server's certificate; empty: the
  // system's trust store.
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  // Bearer token: a fixed one, or a file re-read when it changes. When both
  // are set the file wins and the fixed token is the fallback, as in
  // client-go (see TokenSource).
  std::string token;
  std::string token_file;
  // Client certificate authentication (PEM).
  std::string client_cert_pem;
  std::string client_key_pem;
  // Credentials from an exec plugin (users[].user.exec). A token or
  // tokenFile of the same user wins over it, as in client-go.
  std::optional<ExecConfig> exec;
  // For logs: "in-cluster" or "kubeconfig /home/x/.kube/config (context kind)".
  std::string source;
};

// Reads an environment variable; nullopt when unset. Injected for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
// The process environment.
std::optional<std::string> ProcessEnv(const std::string& name);

// The in-cluster settings: KUBERNETES_SERVICE_HOST / _PORT and the service
// account's token, ca.crt and namespace files under `service_account_dir`.
StatusOr<KubeConnection> LoadInClusterConnection(
    const std::string& service_account_dir = kServiceAccountDir, const EnvLookup& env = ProcessEnv);

// Kubeconfig files merged as kubectl merges a KUBECONFIG list, then the
// given context (or the merged current-context), its cluster and user.
// With `explicit_file` (a --kubeconfig path) there must be exactly one file
// and it must exist; otherwise files that do not exist are skipped (kubectl
// does the same) and kNotFound means none existed. A file that exists but
// cannot be read or parsed is an error naming it. Supported user
// credentials: token, tokenFile, client-certificate(-data) +
// client-key(-data), exec (client.authentication.k8s.io/v1, v1beta1);
// auth-provider and basic auth are rejected with kInvalidArgument.
StatusOr<KubeConnection> LoadKubeconfigFiles(const std::vector<std::string>& files,
                                             bool explicit_file, const std::string& context = "");
// One explicit file.
StatusOr<KubeConnection> LoadKubeconfig(const std::string& path, const std::string& context = "");

// What the controller uses, in controller-runtime's order
// (sigs.k8s.io/controller-runtime pkg/client/config/config.go, loadConfig,
// itself client-go's loading rules with in-cluster before the home file):
//   1. the explicit kubeconfig `path` (--kubeconfig, else
//      kubernetes.kubeconfig), alone;
//   2. else $KUBECONFIG, a ':'-separated list merged as above; when no file
//      of it exists, in-cluster if possible (client-go's deferred loading
//      falls back to it for an empty config), else an error;
//   3. else in-cluster settings when KUBERNETES_SERVICE_HOST is set (and
//      usable: without a mounted token, ~/.kube/config if it exists);
//   4. else ~/.kube/config.
// `context` (--context) picks the kubeconfig context; with in-cluster
// settings there is none to pick, which is an error.
StatusOr<KubeConnection> LoadKubeConnection(
    const std::string& path, const std::string& context = "",
    const std::string& service_account_dir = kServiceAccountDir, const EnvLookup& env = ProcessEnv);

// Standard base64 as Go's encoding/base64 StdEncoding reads a kubeconfig's
// *-data fields (padding required, line breaks ignored); nullopt on anything
// else. Defined with cpprestsdk's utility::conversions in rest_kube_api.cc,
// the one file that includes cpprestsdk.
std::optional<std::string> DecodeBase64(const std::string& text);
std::string EncodeBase64(const std::string& bytes);

}  // namespace amsha

#endif  // AMS_HA_KUBE_KUBE_CONNECTION_H_
