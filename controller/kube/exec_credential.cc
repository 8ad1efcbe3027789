#include "kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/json.h"
#include "common/logging.h"
#include "kube/kube_connection.h"

extern char** environ;

namespace amsha {
namespace {

std::string FirstLine(const std::string& text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = text.find_first_of("\r\n", b);
  std::string line = text.substr(b, e == std::string::npos ? std::string::npos : e - b);
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

// The KUBERNETES_EXEC_INFO the plugin reads (client-go exec.go,
// Authenticator.refreshCredsLocked: an ExecCredential with only spec set).
std::string ExecInfo(const ExecConfig& config, bool interactive) {
  Json spec = Json::Object();
  spec.Set("interactive", interactive);
  if (config.provide_cluster_info) {
    Json cluster = Json::Object();
    cluster.Set("server", config.server);
    if (!config.ca_pem.empty()) {
      cluster.Set("certificate-authority-data", EncodeBase64(config.ca_pem));
    }
    if (config.insecure_skip_tls_verify) cluster.Set("insecure-skip-tls-verify", true);
    spec.Set("cluster", cluster);
  }
  return Json::Object()
      .Set("apiVersion", config.api_version)
      .Set("kind", "ExecCredential")
      .Set("spec", spec)
      .Serialize();
}

struct RunResult {
  int exec_errno = 0;  // the command could not be started
  bool timed_out = false;
  int status = 0;  // waitpid status
  std::string out;
  std::string err;
};

// Runs argv with envp; stdin (and stderr) are ours when `interactive`,
// else stdin is /dev/null and stderr is captured.
RunResult RunPlugin(const std::vector<std::string>& argv, const std::vector<std::string>& envp,
                    bool interactive, std::chrono::milliseconds timeout) {
  RunResult result;
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.exec_errno = errno;
    return result;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    result.exec_errno = errno;
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const std::string& e : envp) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    if (!interactive) {
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
    }
    ::dup2(out_pipe[1], 1);
    // An interactive plugin talks to the user on stderr (client-go passes
    // it through); otherwise we keep its first line for the error.
    if (!interactive) ::dup2(err_pipe[1], 2);
    ::execvpe(args[0], args.data(), env.data());
    int e = errno;
    ssize_t ignored = ::write(exec_pipe[1], &e, sizeof(e));
    (void)ignored;
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(exec_pipe[1]);
  if (pid < 0) {
    result.exec_errno = errno;
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::close(exec_pipe[0]);
    return result;
  }
  int e = 0;
  if (::read(exec_pipe[0], &e, sizeof(e)) == static_cast<ssize_t>(sizeof(e))) result.exec_errno = e;
  ::close(exec_pipe[0]);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  if (interactive) {
    ::close(err_pipe[0]);
    fds[1].fd = -1;
    open_fds = 1;
  }
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t r = ::read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        std::string& to = i == 0 ? result.out : result.err;
        if (to.size() < (1 << 20)) to.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  while (::waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

std::string ExitDescription(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

std::optional<WallTime> ParseRfc3339(const std::string& text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int year, mon, day, hour, min, sec;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min,
                  &sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  size_t at = 19;
  double frac = 0;
  if (at < text.size() && text[at] == '.') {
    size_t end = at + 1;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == at + 1) return std::nullopt;
    frac = std::stod("0" + text.substr(at, end - at));
    at = end;
  }
  long offset = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z') && at + 1 == text.size()) {
    offset = 0;
  } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + at + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset = (text[at] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
  } else {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  time_t t = ::timegm(&tm) - offset;
  return std::chrono::system_clock::from_time_t(t) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(frac));
}

StatusOr<ExecCredential> ParseExecCredential(const std::string& output,
                                             const std::string& api_version) {
  std::optional<Json> root = Json::Parse(output);
  if (!root || root->kind() != Json::Kind::kObject) {
    return InvalidArgumentError("did not print an ExecCredential (JSON) on standard output");
  }
  auto string = [](const Json& object, const std::string& key) -> std::string {
    const Json* v = object.Find(key);
    return v && v->kind() == Json::Kind::kString ? v->AsString() : "";
  };
  if (string(*root, "kind") != "ExecCredential") {
    return InvalidArgumentError("printed kind \"" + string(*root, "kind") +
                                "\", not an ExecCredential");
  }
  std::string version = string(*root, "apiVersion");
  if (version != api_version) {
    return InvalidArgumentError("is configured to use API version " + api_version +
                                ", plugin returned version " +
                                (version.empty() ? "(none)" : version));
  }
  const Json* status = root->Find("status");
  if (!status || status->kind() != Json::Kind::kObject) {
    return InvalidArgumentError("didn't return a status field");
  }
  ExecCredential cred;
  cred.token = string(*status, "token");
  cred.client_cert_pem = string(*status, "clientCertificateData");
  cred.client_key_pem = string(*status, "clientKeyData");
  if (cred.token.empty() && cred.client_cert_pem.empty() && cred.client_key_pem.empty()) {
    return InvalidArgumentError("didn't return a token or cert/key pair");
  }
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty()) {
    return InvalidArgumentError("returned only certificate or key, not both");
  }
  std::string expiry = string(*status, "expirationTimestamp");
  if (!expiry.empty()) {
    cred.expiry = ParseRfc3339(expiry);
    if (!cred.expiry) {
      return InvalidArgumentError("returned expirationTimestamp \"" + expiry +
                                  "\", which is not an RFC 3339 time");
    }
  }
  return cred;
}

ExecCredentialPlugin::ExecCredentialPlugin(ExecConfig config)
    : ExecCredentialPlugin(std::move(config), Options()) {}

ExecCredentialPlugin::ExecCredentialPlugin(ExecConfig config, Options options)
    : config_(std::move(config)), options_(std::move(options)) {}

std::string ExecCredentialPlugin::Describe() const {
  return "exec plugin \"" + config_.command + "\" (kubeconfig user " + config_.user + ")";
}

int ExecCredentialPlugin::runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_;
}

bool ExecCredentialPlugin::FreshLocked() const {
  if (!cached_) return false;
  if (!cached_->expiry) return true;
  WallTime now = options_.clock->WallNow();
  auto lifetime = *cached_->expiry - fetched_at_;
  auto margin = std::clamp<std::chrono::system_clock::duration>(
      lifetime / 5, std::chrono::system_clock::duration::zero(), std::chrono::seconds(10));
  return now < *cached_->expiry - margin;
}

StatusOr<ExecCredential> ExecCredentialPlugin::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (FreshLocked()) return *cached_;
  StatusOr<ExecCredential> fresh = RunLocked();
  if (fresh.ok()) return fresh;
  if (cached_ && cached_->expiry && options_.clock->WallNow() < *cached_->expiry) {
    Log(LogLevel::kWarn,
        "exec credential plugin failed; using the cached credential until it "
        "expires",
        {{"error", fresh.status().message()}});
    return *cached_;
  }
  return fresh.status();
}

bool ExecCredentialPlugin::Refresh(const std::string& rejected) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_ && cached_->token != rejected) return true;  // already replaced
  StatusOr<ExecCredential> fresh = RunLocked();
  if (!fresh.ok()) {
    Log(LogLevel::kWarn, "exec credential plugin failed after a 401",
        {{"error", fresh.status().message()}});
    return false;
  }
  return fresh->token != rejected;
}

StatusOr<ExecCredential> ExecCredentialPlugin::RunLocked() {
  bool terminal = options_.stdin_is_terminal.value_or(::isatty(0) == 1);
  bool interactive = false;
  if (config_.interactive_mode == "Always") {
    if (!terminal) {
      return FailedPreconditionError(
          Describe() +
          ": interactiveMode is Always but standard input is not a terminal; set "
          "interactiveMode: Never (or IfAvailable) in the kubeconfig, or use a "
          "plugin that needs no user input");
    }
    interactive = true;
  } else if (config_.interactive_mode == "IfAvailable") {
    interactive = terminal;
  }
  std::vector<std::string> argv = {config_.command};
  argv.insert(argv.end(), config_.args.begin(), config_.args.end());
  // The process environment, then the configured variables (which win),
  // then KUBERNETES_EXEC_INFO.
  std::vector<std::string> envp;
  auto set = [&envp](const std::string& name, const std::string& value) {
    std::string prefix = name + "=";
    envp.erase(std::remove_if(envp.begin(), envp.end(),
                              [&](const std::string& e) { return e.rfind(prefix, 0) == 0; }),
               envp.end());
    envp.push_back(prefix + value);
  };
  for (char** e = environ; e && *e; ++e) envp.emplace_back(*e);
  for (const auto& [name, value] : config_.env) set(name, value);
  set("KUBERNETES_EXEC_INFO", ExecInfo(config_, interactive));

  RunResult run = RunPlugin(argv, envp, interactive, options_.timeout);
  if (run.exec_errno != 0) {
    std::string message = Describe() + ": cannot run it: " + std::strerror(run.exec_errno);
    if (run.exec_errno == ENOENT) {
      message = Describe() + ": command not found" +
                (config_.command.find('/') == std::string::npos ? " in $PATH" : "");
      if (!config_.install_hint.empty()) message += "; " + FirstLine(config_.install_hint);
    }
    return FailedPreconditionError(message);
  }
  if (run.timed_out) {
    return UnavailableError(Describe() + ": no answer within " +
                            std::to_string(options_.timeout.count() / 1000) + "s; killed it");
  }
  if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
    std::string err = FirstLine(MaskLogSecrets(run.err));
    return UnauthenticatedError(Describe() + " failed: " + ExitDescription(run.status) +
                                (err.empty() ? "" : ": " + err));
  }
  StatusOr<ExecCredential> cred = ParseExecCredential(run.out, config_.api_version);
  if (!cred.ok()) return UnauthenticatedError(Describe() + " " + cred.status().message());
  if (!cred->token.empty()) AddRotatingLogSecret(cred->token);
  fetched_at_ = options_.clock->WallNow();
  cached_ = *cred;
  ++runs_;
  return cred;
}

}  // namespace amsha
