// KubeConnection: where the Kubernetes API server is and how to talk to it.
//
// Loaded once at start-up, from the pod's service account (in-cluster) or a
// kubeconfig file, then handed to RestKubeApi. Every file it names (CA,
// client certificate and key) is read here, so a missing or unreadable file
// is a start-up error with one clear line, not a TLS failure later. The
// bearer token file is the exception: it is only checked here and re-read by
// TokenSource before requests, because service-account tokens rotate.
// Plain values and free functions; thread-compatible.
#ifndef AMS_HA_KUBE_KUBE_CONNECTION_H_
#define AMS_HA_KUBE_KUBE_CONNECTION_H_

#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

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

// A kubeconfig file: the given context (or current-context), its cluster
// and user. Relative file paths inside are relative to the kubeconfig's
// directory. Supported user credentials: token, tokenFile,
// client-certificate(-data) + client-key(-data); exec and auth-provider
// plugins are rejected with kInvalidArgument.
StatusOr<KubeConnection> LoadKubeconfig(const std::string& path, const std::string& context = "");

// What the controller uses: the explicit kubeconfig `path` if given, else
// in-cluster settings when KUBERNETES_SERVICE_HOST is set, else the first
// existing file of $KUBECONFIG (a ':'-separated list; files are not
// merged), else ~/.kube/config.
StatusOr<KubeConnection> LoadKubeConnection(
    const std::string& path, const std::string& context = "",
    const std::string& service_account_dir = kServiceAccountDir, const EnvLookup& env = ProcessEnv);

// Standard base64 (RFC 4648, padding optional, whitespace ignored); nullopt
// on any other character. For the kubeconfig's *-data fields.
std::optional<std::string> DecodeBase64(const std::string& text);

}  // namespace amsha

#endif  // AMS_HA_KUBE_KUBE_CONNECTION_H_
