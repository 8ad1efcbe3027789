#include "support/gated_pods.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kKubeletPeriod{100};
constexpr milliseconds kRestartDelay{300};

}  // namespace

KubeletSpec KubeletSpec::ExampleSpec(int scale) {
  KubeletSpec k;
  k.readiness_period = milliseconds(5000 / scale);
  k.readiness_timeout = milliseconds(2000 / scale);
  k.readiness_failures = 3;
  k.liveness = true;
  k.liveness_period = milliseconds(10000 / scale);
  k.liveness_timeout = milliseconds(2000 / scale);
  k.liveness_failures = 6;
  k.termination_grace = milliseconds(60000 / scale);
  return k;
}

int HttpStatus(const std::string& ip, int port, const std::string& path, milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  int code = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + ip + "\r\n\r\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buf[64];
    ssize_t n = ::recv(fd, buf, sizeof(buf) - 1, 0);
    if (n > 12) {
      buf[n] = 0;
      code = std::atoi(buf + 9);  // "HTTP/1.1 200 ..."
    }
  }
  ::close(fd);
  return code;
}

GatedPods::GatedPods(E2eCluster* cluster, GatedPodsOptions options)
    : cluster_(cluster), options_(std::move(options)) {
  journal_ = cluster_->dir() + "/ams-journal";
}

GatedPods::~GatedPods() {
  stop_ = true;
  if (kubelet_.joinable()) kubelet_.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (Pod& pod : pods_) pod.gate.reset();  // SIGKILL; AMS dies with its gate
}

Status GatedPods::WriteConfig(Pod& pod) {
  const E2eOptions& o = cluster_->options();
  pod.config = cluster_->dir() + "/gate-" + pod.name + ".yaml";
  std::ofstream f(pod.config);
  f << "database:\n  url: " << cluster_->DatabaseUrlAt(pod.relay->port())
    << "\n  connectTimeout: 1s\n  statementTimeout: 1s\n"
    << "controller:\n  leaseDuration: " << o.lease_duration
    << "\n  renewDeadline: " << o.renew_deadline << "\n  retryPeriod: " << o.retry_period << "\n"
    << "gate:\n  stopGracePeriod: " << options_.stop_grace
    << "\n  pollInterval: " << options_.poll_interval
    << "\n  safetyMargin: " << options_.safety_margin
    << "\n  readinessPort: " << options_.readiness_port
    << "\n  listen: " << (options_.listen ? "true" : "false") << "\n"
    << "clusters:\n  - name: " << o.cluster << "\n    podSelector: app=amoro\n"
    << "    leaseTtl: " << o.lease_ttl << "\n    heartbeatInterval: " << o.heartbeat_interval
    << "\n    notReadyGracePeriod: " << o.not_ready_grace << "\n";
  return f ? Status::Ok() : InternalError("cannot write " + pod.config);
}

Status GatedPods::StartGate(Pod& pod, const std::string& uid) {
  pod.uid = uid;
  pod.sigtermed = false;
  pod.exited_at = {};
  pod.probe_failures = 0;
  pod.liveness_failures = 0;
  pod.kill_at.reset();
  std::vector<std::string> argv{cluster_->ControllerBinary(),
                                "gate",
                                "--config",
                                pod.config,
                                "--cluster",
                                cluster_->options().cluster,
                                "--",
                                BinaryDir() + "/tests/fake-ams",
                                "--name",
                                pod.name,
                                "--listen",
                                pod.ip + ":1630",
                                "--journal",
                                journal_};
  argv.insert(argv.end(), options_.ams_args.begin(), options_.ams_args.end());
  pod.gate = std::make_unique<ChildProcess>(
      argv,
      std::map<std::string, std::string>{{"POD_NAME", pod.name},
                                         {"POD_UID", uid},
                                         {"POD_IP", pod.ip},
                                         {"AMS_HA_DB_PASSWORD", cluster_->DatabasePassword()}},
      cluster_->dir() + "/gate-" + pod.name + ".log");
  return pod.gate->Start();
}

Status GatedPods::Start() {
  auto states = cluster_->PodStates();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < cluster_->options().pods; ++i) {
      Pod pod;
      pod.name = E2eCluster::PodName(i);
      pod.ip = cluster_->PodIp(i);
      pod.relay = std::make_unique<TcpRelay>(cluster_->DatabasePort());
      Status s = pod.relay->Start();
      if (s.ok()) s = WriteConfig(pod);
      if (s.ok()) s = StartGate(pod, states[pod.name].uid);
      if (!s.ok()) return s;
      pods_.push_back(std::move(pod));
    }
  }
  kubelet_ = std::thread([this] { Kubelet(); });
  bool ready = E2eCluster::WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        for (const Pod& pod : pods_) {
          if (HttpStatus(pod.ip, options_.readiness_port, "/readyz") != 200) return false;
        }
        return true;
      },
      milliseconds(15000));
  return ready ? Status::Ok() : InternalError("gates not ready within 15s\n" + Logs());
}

void GatedPods::Kubelet() {
  while (!stop_) {
    KubeletPass();
    std::this_thread::sleep_for(kKubeletPeriod);
  }
}

void GatedPods::KubeletPass() {
  std::map<std::string, E2ePodState> states = cluster_->PodStates();
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  for (Pod& pod : pods_) {
    const bool running = pod.gate && pod.gate->Running();
    auto it = states.find(pod.name);
    if (it == states.end()) {
      // Gone from the API: the grace is over, whatever is left is killed.
      if (running) {
        pod.gate->Signal(SIGKILL);
        pod.gate->Wait(milliseconds(2000));
      }
      continue;
    }
    const E2ePodState& state = it->second;
    if (state.terminating) {
      if (running && !pod.sigtermed) {
        pod.gate->Signal(SIGTERM);
        pod.sigtermed = true;
      }
      continue;
    }
    if (!running || state.uid != pod.uid) {
      if (pod.node_lost && state.uid == pod.uid) continue;  // a dead node restarts nothing
      if (running) {
        pod.gate->Signal(SIGKILL);  // a container of a pod that no longer exists
        pod.gate->Wait(milliseconds(2000));
      }
      if (pod.exited_at == Clock::time_point{}) pod.exited_at = now;
      const bool fresh_pod = state.uid != pod.uid;
      if (restarts_ && (fresh_pod || now - pod.exited_at >= kRestartDelay)) {
        if (!fresh_pod) ++pod.restarts;
        StartGate(pod, state.uid);
      }
      if (state.ready && !pod.node_lost) cluster_->standin().SetReady(pod.name, false);
      continue;
    }
    if (pod.node_lost) continue;
    const KubeletSpec& k = options_.kubelet;
    if (pod.kill_at) {
      // The container is being restarted: SIGTERM went to its PID 1 (the
      // gate); whatever is left when the grace ends is killed.
      if (now >= *pod.kill_at) {
        pod.gate->Signal(SIGKILL);
        pod.gate->Wait(milliseconds(2000));
      }
      continue;
    }
    if (k.liveness && now >= pod.next_liveness) {
      pod.next_liveness = now + k.liveness_period;
      bool alive =
          HttpStatus(pod.ip, options_.readiness_port, "/healthz", k.liveness_timeout) == 200;
      pod.liveness_failures = alive ? 0 : pod.liveness_failures + 1;
      if (pod.liveness_failures >= k.liveness_failures) {
        ++pod.liveness_restarts;
        ::kill(pod.gate->pid(), SIGTERM);
        pod.kill_at = now + k.termination_grace;
        continue;
      }
    }
    if (now < pod.next_readiness) continue;
    pod.next_readiness = now + k.readiness_period;
    bool probe_ok =
        HttpStatus(pod.ip, options_.readiness_port, "/readyz", k.readiness_timeout) == 200;
    pod.probe_failures = probe_ok ? 0 : pod.probe_failures + 1;
    bool want = !pod.force_not_ready &&
                (probe_ok || (state.ready && pod.probe_failures < k.readiness_failures));
    if (want != state.ready) cluster_->standin().SetReady(pod.name, want);
  }
}

void GatedPods::ForceNotReady(int i, bool not_ready) {
  std::lock_guard<std::mutex> lock(mu_);
  pods_[i].force_not_ready = not_ready;
}

void GatedPods::Partition(int i, bool cut) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cut) {
    pods_[i].relay->Cut();
  } else {
    pods_[i].relay->Restore();
  }
}

void GatedPods::LoseNode(int i, bool lost) {
  std::lock_guard<std::mutex> lock(mu_);
  pods_[i].node_lost = lost;
  if (lost) {
    pods_[i].relay->Cut();
  } else {
    pods_[i].relay->Restore();
  }
}

pid_t GatedPods::AmsPid(int i) const {
  static const std::string kLine = "AMS started";
  std::string log = GateLog(i);
  size_t at = log.rfind(kLine);
  size_t pid_at = at == std::string::npos ? at : log.find("pid=", at);
  if (pid_at == std::string::npos) return 0;
  return std::atoi(log.c_str() + pid_at + 4);
}

void GatedPods::RecoverPod(int i) {
  std::lock_guard<std::mutex> lock(mu_);
  pods_[i].node_lost = false;
}

pid_t GatedPods::GatePid(int i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_[i].gate ? pods_[i].gate->pid() : 0;
}

int GatedPods::LivenessRestarts(int i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_[i].liveness_restarts;
}

Status GatedPods::HangAms(int i) {
  pid_t pid = AmsPid(i);
  if (pid <= 0) return NotFoundError("pod " + std::to_string(i) + " runs no AMS");
  if (::kill(pid, SIGUSR1) != 0) return InternalError("cannot signal AMS");
  return Status::Ok();
}

Status GatedPods::FreezeGate(int i, bool frozen) {
  pid_t pid = GatePid(i);
  if (pid <= 0 || ::kill(pid, frozen ? SIGSTOP : SIGCONT) != 0) {
    return InternalError("cannot signal the gate of pod " + std::to_string(i));
  }
  return Status::Ok();
}

Status GatedPods::CrashPod(int i) {
  pid_t ams = AmsPid(i);
  std::lock_guard<std::mutex> lock(mu_);
  Pod& pod = pods_[i];
  pod.node_lost = true;
  if (!pod.gate) return NotFoundError("pod " + std::to_string(i) + " runs no gate");
  // AMS's own group and the gate's (gate + fence), back to back.
  if (ams > 0) ::kill(-ams, SIGKILL);
  pod.gate->Signal(SIGKILL);
  pod.gate->Wait(milliseconds(2000));
  return Status::Ok();
}

void GatedPods::SetRestarts(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  restarts_ = on;
}

bool GatedPods::WaitUntilOnlyRunning(const std::string& pod, milliseconds timeout) {
  return E2eCluster::WaitUntil([&] { return Journal().Active() == std::vector<std::string>{pod}; },
                               timeout);
}

std::string GatedPods::GateLog(int i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_[i].gate ? pods_[i].gate->Log() : "";
}

int GatedPods::GateRestarts(int i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_[i].restarts;
}

std::string GatedPods::Logs() const {
  std::string out;
  for (size_t i = 0; i < pods_.size(); ++i) {
    out += "---- gate " + pods_[i].name + " ----\n" + GateLog(static_cast<int>(i));
  }
  std::ifstream in(journal_);
  std::stringstream journal;
  journal << in.rdbuf();
  return out + "---- journal ----\n" + journal.str();
}

}  // namespace amsha::testing
