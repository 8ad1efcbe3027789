#include "support/standin_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/logging.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

std::string Quote(const std::string& s) { return "\"" + JsonEscape(s) + "\""; }

std::string LabelsJson(const std::map<std::string, std::string>& labels) {
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ",";
    out += Quote(k) + ":" + Quote(v);
  }
  return out + "}";
}

// The value of `key=` in the ready line, or "".
std::string ReadyField(const std::string& line, const std::string& key) {
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    if (word.compare(0, key.size() + 1, key + "=") == 0) return word.substr(key.size() + 1);
  }
  return "";
}

int PortOf(const std::string& url) {
  size_t colon = url.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(url.c_str() + colon + 1);
}

}  // namespace

AdminResponse PlainHttp(int port, const std::string& method, const std::string& path,
                        const std::string& body, const std::vector<std::string>& headers) {
  AdminResponse res;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return res;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return res;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    bool has_type = false;
    for (const auto& h : headers) has_type |= h.rfind("Content-Type:", 0) == 0;
    if (!has_type) req += "Content-Type: application/json\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return res;
    }
    off += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) raw.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t sp = raw.find(' ');
  size_t end = raw.find("\r\n\r\n");
  if (sp == std::string::npos || end == std::string::npos) return res;
  res.code = std::atoi(raw.c_str() + sp + 1);
  res.head = raw.substr(0, end);
  res.body = raw.substr(end + 4);
  return res;
}

StandinProcess::StandinProcess(StandinOptions options) : options_(std::move(options)) {}

StandinProcess::~StandinProcess() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

Status StandinProcess::Start() {
  if (pid_ > 0) return FailedPreconditionError("kube-standin already started");
  const char* env_bin = std::getenv("KUBE_STANDIN_BIN");
  std::string bin = env_bin && *env_bin ? env_bin : BinaryDir() + "/tests/standin/kube-standin";
  if (::access(bin.c_str(), X_OK) != 0) {
    return FailedPreconditionError(bin + " not found: build the kube-standin target");
  }
  dir_ = MakeTempDir("kube-standin-");
  std::vector<std::string> args = {bin, "--dir", dir_, "--namespace", options_.ns};
  if (options_.tls) args.push_back("--tls");
  if (!options_.token.empty()) args.insert(args.end(), {"--token", options_.token});
  if (options_.watch_timeout_seconds > 0) {
    args.insert(args.end(),
                {"--watch-timeout-seconds", std::to_string(options_.watch_timeout_seconds)});
  }
  if (options_.event_window > 0) {
    args.insert(args.end(), {"--event-window", std::to_string(options_.event_window)});
  }
  if (!options_.pod_ip_base.empty()) {
    args.insert(args.end(), {"--pod-ip-base", options_.pod_ip_base});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return InternalError("pipe failed");
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) return InternalError("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    // If the test dies without running the destructor (a crash, a ctest
    // timeout), the stand-in must not outlive it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(out[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // also here, so a kill right after fork hits the group
  ::close(out[1]);

  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{out[0], POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[512];
    ssize_t n = ::read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  if (line.rfind("ready ", 0) != 0) {
    Stop();
    return UnavailableError("kube-standin did not print its ready line within 10 s (got \"" + line +
                            "\")");
  }
  line = line.substr(0, line.find('\n'));
  api_url_ = ReadyField(line, "api");
  admin_url_ = ReadyField(line, "admin");
  kubeconfig_ = ReadyField(line, "kubeconfig");
  token_ = ReadyField(line, "token");
  api_port_ = PortOf(api_url_);
  admin_port_ = PortOf(admin_url_);
  return Status::Ok();
}

int StandinProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(-pid_, SIGTERM);
  int status = 0;
  int result = -1;
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      result = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (result == -1 && !WIFEXITED(status)) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return result;
}

AdminResponse StandinProcess::Admin(const std::string& method, const std::string& path,
                                    const std::string& body) const {
  return PlainHttp(admin_port_, method, path, body);
}

AdminResponse StandinProcess::CreatePod(const StandinPod& pod) const {
  std::string body = "{\"name\":" + Quote(pod.name) + ",\"labels\":" + LabelsJson(pod.labels) +
                     ",\"ready\":" + (pod.ready ? "true" : "false");
  if (!pod.ns.empty()) body += ",\"namespace\":" + Quote(pod.ns);
  if (!pod.pod_ip.empty()) body += ",\"podIP\":" + Quote(pod.pod_ip);
  if (pod.termination_grace_seconds >= 0) {
    body += ",\"terminationGracePeriodSeconds\":" + std::to_string(pod.termination_grace_seconds);
  }
  body += ",\"ports\":[";
  for (size_t i = 0; i < pod.ports.size(); ++i) {
    if (i) body += ",";
    body += "{\"name\":" + Quote(pod.ports[i].first) +
            ",\"containerPort\":" + std::to_string(pod.ports[i].second) + "}";
  }
  return Admin("POST", "/admin/pods", body + "]}");
}

AdminResponse StandinProcess::SetReady(const std::string& name, bool ready,
                                       const std::string& ns) const {
  return Admin("POST", "/admin/pods/" + (ns.empty() ? options_.ns : ns) + "/" + name + "/ready",
               std::string("{\"ready\":") + (ready ? "true" : "false") + "}");
}

AdminResponse StandinProcess::DeletePod(const std::string& name, std::optional<int> grace_seconds,
                                        const std::string& ns) const {
  std::string path = "/admin/pods/" + (ns.empty() ? options_.ns : ns) + "/" + name;
  if (grace_seconds) path += "?gracePeriodSeconds=" + std::to_string(*grace_seconds);
  return Admin("DELETE", path);
}

AdminResponse StandinProcess::InjectFault(const StandinFault& f) const {
  std::string body = "{\"method\":" + Quote(f.method) + ",\"pathPrefix\":" + Quote(f.path_prefix) +
                     ",\"watch\":" + (f.watch ? (*f.watch ? "true" : "false") : "null") +
                     ",\"count\":" + std::to_string(f.count) +
                     ",\"code\":" + std::to_string(f.code) +
                     ",\"retryAfterSeconds\":" + std::to_string(f.retry_after_seconds);
  if (!f.reason.empty()) body += ",\"reason\":" + Quote(f.reason);
  return Admin("POST", "/admin/faults", body + "}");
}

AdminResponse StandinProcess::ClearFaults() const { return Admin("DELETE", "/admin/faults"); }

AdminResponse StandinProcess::SetLatency(int ms) const {
  return Admin("POST", "/admin/latency", "{\"ms\":" + std::to_string(ms) + "}");
}

AdminResponse StandinProcess::CutWatches() const { return Admin("POST", "/admin/watches/cut"); }

AdminResponse StandinProcess::Pause(double seconds) const {
  return Admin("POST", "/admin/pause", "{\"seconds\":" + std::to_string(seconds) + "}");
}

AdminResponse StandinProcess::Compact() const { return Admin("POST", "/admin/compact"); }

AdminResponse StandinProcess::RotateToken(const std::string& token, int grace_seconds) const {
  return Admin(
      "POST", "/admin/tokens/rotate",
      "{\"token\":" + Quote(token) + ",\"graceSeconds\":" + std::to_string(grace_seconds) + "}");
}

AdminResponse StandinProcess::Forbid(const std::string& verb, const std::string& resource,
                                     const std::string& ns) const {
  return Admin("POST", "/admin/forbid",
               "{\"verb\":" + Quote(verb) + ",\"resource\":" + Quote(resource) +
                   ",\"namespace\":" + Quote(ns) + "}");
}

AdminResponse StandinProcess::ClearForbids() const { return Admin("DELETE", "/admin/forbid"); }

AdminResponse StandinProcess::SetRole(const std::string& role_json) const {
  return Admin("POST", "/admin/role", role_json);
}

AdminResponse StandinProcess::ClearRole() const { return Admin("DELETE", "/admin/role"); }

std::string StandinProcess::SelectorRecord() const {
  return Admin("GET", "/admin/record/selectors").body;
}
std::string StandinProcess::Requests() const { return Admin("GET", "/admin/record/requests").body; }
std::string StandinProcess::Events() const { return Admin("GET", "/admin/record/events").body; }
std::string StandinProcess::Forwards() const { return Admin("GET", "/admin/forwards").body; }
std::string StandinProcess::State() const { return Admin("GET", "/admin/state").body; }

PlainStream::~PlainStream() { Close(); }

void PlainStream::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool PlainStream::Fill(int timeout_ms) {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[8192];
  ssize_t n = ::read(fd_, buf, sizeof(buf));
  if (n <= 0) {
    ended_ = true;  // EOF or reset before the terminating chunk: abrupt
    Close();
    return false;
  }
  raw_.append(buf, static_cast<size_t>(n));
  return true;
}

bool PlainStream::Open(int port, const std::string& path, const std::vector<std::string>& headers,
                       int timeout_ms) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
    return false;
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "\r\n";
  if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    Close();
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0 || !Fill(static_cast<int>(left))) return false;
  }
  std::string head = raw_.substr(0, end);
  raw_ = raw_.substr(end + 4);
  size_t sp = head.find(' ');
  code_ = sp == std::string::npos ? 0 : std::atoi(head.c_str() + sp + 1);
  std::string lower;
  for (char ch : head) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  chunked_ = lower.find("transfer-encoding: chunked") != std::string::npos;
  Decode();
  return true;
}

void PlainStream::Decode() {
  if (!chunked_) {
    text_ += raw_;
    raw_.clear();
    return;
  }
  while (true) {
    size_t eol = raw_.find("\r\n");
    if (eol == std::string::npos) return;
    size_t size = std::strtoul(raw_.substr(0, eol).c_str(), nullptr, 16);
    if (size == 0) {
      ended_ = clean_ = true;
      raw_.clear();
      Close();
      return;
    }
    if (raw_.size() < eol + 2 + size + 2) return;
    text_ += raw_.substr(eol + 2, size);
    raw_ = raw_.substr(eol + 2 + size + 2);
  }
}

std::optional<std::string> PlainStream::NextLine(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    size_t nl = text_.find('\n');
    if (nl != std::string::npos) {
      std::string line = text_.substr(0, nl);
      text_ = text_.substr(nl + 1);
      return line;
    }
    if (ended_) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return std::nullopt;
    if (Fill(static_cast<int>(left))) Decode();
  }
}

bool PlainStream::WaitEnd(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!ended_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    if (Fill(static_cast<int>(left))) Decode();
  }
  return true;
}

}  // namespace amsha::testing
