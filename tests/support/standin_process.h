// StandinProcess: runs the Kubernetes API stand-in (kube-standin) as a child
// process for a test, and drives its admin API.
//
//   StandinProcess standin;              // HTTPS, namespace "default"
//   ASSERT_TRUE(standin.Start().ok());
//   StandinPod pod;
//   pod.name = "ams-0";
//   pod.labels = {{"app", "ams"}};
//   standin.CreatePod(pod);
//   ... point a client at standin.kubeconfig() ...
//
// Start() forks and execs <build>/tests/standin/kube-standin (override with
// $KUBE_STANDIN_BIN) in its own process group with --dir in a fresh temp
// directory, and waits up to 10 s for its `ready` line. The destructor
// terminates the whole process group and removes the directory; should the
// test die first, the kernel kills the stand-in (PR_SET_PDEATHSIG, tied to
// the thread that called Start(): call it from the test's main thread).
// Admin helpers return the HTTP code and the raw JSON body; parse it with
// whatever JSON library the test already uses (this header stays free of
// third-party types). Thread-safe after Start(): helpers open one connection
// per call.
#ifndef AMS_HA_TESTS_SUPPORT_STANDIN_PROCESS_H_
#define AMS_HA_TESTS_SUPPORT_STANDIN_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace amsha::testing {

struct StandinOptions {
  bool tls = true;
  std::string ns = "default";
  std::string token;              // "" = random
  int watch_timeout_seconds = 0;  // 0 = the stand-in's default (300)
  int event_window = 0;           // 0 = default (1000)
  std::string pod_ip_base;        // "" = default (127.0.0.2)
  std::vector<std::string> extra_args;
};

struct StandinPod {
  std::string name;
  std::string ns;  // "" = the stand-in's namespace
  std::map<std::string, std::string> labels;
  std::string pod_ip;  // "" = next from --pod-ip-base
  bool ready = true;
  std::vector<std::pair<std::string, int>> ports;  // name, containerPort
  int termination_grace_seconds = -1;              // < 0 = default (30)
};

struct StandinFault {
  std::string method = "*";
  std::string path_prefix;
  std::optional<bool> watch;
  int count = 1;  // < 0 = until cleared
  int code = 500;
  std::string reason;  // "" = derived from code
  int retry_after_seconds = 0;
};

struct AdminResponse {
  int code = 0;  // 0 = no answer (connection failed)
  std::string body;
  std::string head;  // status line and headers, as received
  bool ok() const { return code >= 200 && code < 300; }
};

class StandinProcess {
 public:
  explicit StandinProcess(StandinOptions options = {});
  ~StandinProcess();
  StandinProcess(const StandinProcess&) = delete;
  StandinProcess& operator=(const StandinProcess&) = delete;

  Status Start();
  // SIGTERM and wait (the stand-in exits 0 within a second); returns the
  // exit status, or -1.
  int Stop();

  const std::string& api_url() const { return api_url_; }  // https://127.0.0.1:P
  int api_port() const { return api_port_; }
  const std::string& admin_url() const { return admin_url_; }
  int admin_port() const { return admin_port_; }
  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& token() const { return token_; }
  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string token_file() const { return dir_ + "/token"; }
  const std::string& ns() const { return options_.ns; }
  pid_t pid() const { return pid_; }

  // Any admin call: method, path (e.g. "/admin/state"), JSON body.
  AdminResponse Admin(const std::string& method, const std::string& path,
                      const std::string& body = "") const;

  AdminResponse CreatePod(const StandinPod& pod) const;
  AdminResponse SetReady(const std::string& name, bool ready, const std::string& ns = "") const;
  AdminResponse DeletePod(const std::string& name, std::optional<int> grace_seconds = std::nullopt,
                          const std::string& ns = "") const;
  AdminResponse InjectFault(const StandinFault& fault) const;
  AdminResponse ClearFaults() const;
  AdminResponse SetLatency(int ms) const;
  AdminResponse CutWatches() const;
  AdminResponse Pause(double seconds) const;
  AdminResponse Compact() const;
  AdminResponse RotateToken(const std::string& token, int grace_seconds) const;
  AdminResponse Forbid(const std::string& verb, const std::string& resource,
                       const std::string& ns = "") const;
  AdminResponse ClearForbids() const;
  // Enforces a Role (the JSON of POST /admin/role: {"namespace":..,
  // "rules":[{"verbs":[..],"resources":[..],"resourceNames":[..]}]}).
  AdminResponse SetRole(const std::string& role_json) const;
  AdminResponse ClearRole() const;
  // Raw JSON arrays / objects, as documented in tests/standin/README.md.
  std::string SelectorRecord() const;
  std::string Requests() const;
  std::string Events() const;
  std::string Forwards() const;
  std::string State() const;

 private:
  StandinOptions options_;
  pid_t pid_ = -1;
  std::string dir_;
  std::string api_url_;
  std::string admin_url_;
  std::string kubeconfig_;
  std::string token_;
  int api_port_ = 0;
  int admin_port_ = 0;
};

// A minimal blocking HTTP/1.1 exchange with 127.0.0.1:port (plain HTTP,
// Connection: close); extra headers as "Name: value" lines.
AdminResponse PlainHttp(int port, const std::string& method, const std::string& path,
                        const std::string& body, const std::vector<std::string>& headers = {});

// A streaming GET over plain HTTP (a watch): reads the status line and
// headers, then hands out body lines as they arrive, decoding chunked
// transfer encoding, and tells a clean end (terminating chunk) from an
// abrupt one (EOF or reset without it).
class PlainStream {
 public:
  PlainStream() = default;
  ~PlainStream();
  PlainStream(const PlainStream&) = delete;
  PlainStream& operator=(const PlainStream&) = delete;

  // Connects and sends the request; false when no response head arrived
  // within `timeout_ms`.
  bool Open(int port, const std::string& path, const std::vector<std::string>& headers,
            int timeout_ms = 5000);
  int code() const { return code_; }
  // The next complete line (without "\n"), or nullopt when none arrived
  // within `timeout_ms` or the stream ended.
  std::optional<std::string> NextLine(int timeout_ms);
  bool ended() const { return ended_; }
  bool ended_cleanly() const { return clean_; }
  // Waits up to `timeout_ms` for the end; true if it ended.
  bool WaitEnd(int timeout_ms);
  void Close();

 private:
  bool Fill(int timeout_ms);  // reads more raw bytes; false on timeout or EOF
  void Decode();              // moves complete chunks from raw_ into lines_

  int fd_ = -1;
  int code_ = 0;
  bool chunked_ = false;
  bool ended_ = false;
  bool clean_ = false;
  std::string raw_;
  std::string text_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_STANDIN_PROCESS_H_
