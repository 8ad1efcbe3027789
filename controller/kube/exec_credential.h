// Exec credential plugins: a kubeconfig user whose credentials come from a
// command (users[].user.exec), as EKS, GKE and AKS kubeconfigs authenticate.
//
// Follows client-go's plugin/pkg/client/auth/exec (exec.go) and the
// Kubernetes documentation "client-go credential plugins":
//   * apiVersion client.authentication.k8s.io/v1 or v1beta1 (v1alpha1 was
//     removed from client-go in 1.24 and is rejected);
//   * the command runs with the process environment plus `env`, with
//     `args`, and with KUBERNETES_EXEC_INFO holding an ExecCredential whose
//     spec says whether the run is interactive (and, with
//     provideClusterInfo, the cluster: server, certificate-authority-data,
//     insecure-skip-tls-verify);
//   * interactiveMode (required for v1; v1beta1 defaults to IfAvailable):
//     Never: standard input is never the plugin's; IfAvailable: it is when
//     ours is a terminal; Always: it must be, and without a terminal (a
//     pod, CI) the plugin is not run and the error says so;
//   * the plugin prints an ExecCredential of the same apiVersion: a token,
//     or a PEM client certificate and key, and optionally an
//     expirationTimestamp (RFC 3339);
//   * the credential is cached and the plugin runs again shortly before the
//     expiry (client-go only after it; see Get()) and after the server
//     rejected the cached token with 401.
// A plugin that is missing, fails, hangs past `timeout` or prints something
// else is one error line naming the plugin, its exit status and the first
// line of its standard error (or the installHint when the command is
// missing). An interactive run gets our standard input and error, as in
// client-go, so that the plugin can talk to the user. The plugin's output is never logged: it holds
// the credential. Thread-safe.
#ifndef AMS_HA_KUBE_EXEC_CREDENTIAL_H_
#define AMS_HA_KUBE_EXEC_CREDENTIAL_H_

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace amsha {

inline constexpr char kExecApiV1[] = "client.authentication.k8s.io/v1";
inline constexpr char kExecApiV1beta1[] = "client.authentication.k8s.io/v1beta1";

// users[].user.exec of a kubeconfig, as read (kube_connection.cc).
struct ExecConfig {
  std::string api_version;
  // As written, resolved against the kubeconfig's directory when relative
  // with a '/' (client-go does the same); a bare name is searched in $PATH.
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string interactive_mode = "IfAvailable";  // Never, IfAvailable, Always
  std::string install_hint;
  bool provide_cluster_info = false;
  std::string user;  // the kubeconfig user's name, for messages
  // The cluster, for KUBERNETES_EXEC_INFO when provide_cluster_info.
  std::string server;
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
};

struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<WallTime> expiry;  // none: valid until the server says 401
};

// Parses the plugin's standard output. `api_version` is the configured one;
// the answer must carry the same.
StatusOr<ExecCredential> ParseExecCredential(const std::string& output,
                                             const std::string& api_version);

// "2026-12-02T12:00:00Z", "2026-12-02T12:00:00.5+01:00" -> time; nullopt if
// it is no RFC 3339 date-time.
std::optional<WallTime> ParseRfc3339(const std::string& text);

class ExecCredentialPlugin {
 public:
  struct Options {
    const Clock* clock = RealClock::Get();
    std::chrono::milliseconds timeout{60000};  // one run of the plugin
    // Whether our standard input is a terminal (isatty(0) by default).
    std::optional<bool> stdin_is_terminal;
  };
  explicit ExecCredentialPlugin(ExecConfig config);
  ExecCredentialPlugin(ExecConfig config, Options options);

  // The cached credential, or a new one from running the plugin when there
  // is none or it expires within the refresh margin: a fifth of its
  // lifetime, at most 10 s before the expiry (so a request never goes out
  // with a token that expires on the way). When a re-run fails and the
  // cached credential has not expired yet, that one is returned and the
  // failure logged.
  StatusOr<ExecCredential> Get();
  // After a 401 for `rejected` (the token that was sent): runs the plugin
  // again unless another caller already replaced that token. True when the
  // token to send now differs from `rejected`.
  bool Refresh(const std::string& rejected);
  // Times the plugin ran successfully; for tests and logs.
  int runs() const;
  // "exec plugin \"cmd\" (user u)": the prefix of every message.
  std::string Describe() const;

 private:
  StatusOr<ExecCredential> RunLocked();
  bool FreshLocked() const;

  const ExecConfig config_;
  const Options options_;
  mutable std::mutex mu_;
  std::optional<ExecCredential> cached_;
  WallTime fetched_at_{};
  int runs_ = 0;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_EXEC_CREDENTIAL_H_
