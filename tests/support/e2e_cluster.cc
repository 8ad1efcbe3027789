#include "support/e2e_cluster.h"

#include <arpa/inet.h>
#include <cpprest/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "election/pod_identity.h"
#include "support/engine_lease_store.h"
#include "support/json_values.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;

std::string Shell(const std::string& command, int* code = nullptr) {
  std::string out;
  int rc = RunCommand(command, &out);
  if (code) *code = rc;
  return out;
}

}  // namespace

E2eCluster::E2eCluster(E2eOptions options) : options_(std::move(options)) {
  dir_ = MakeTempDir("amsha-e2e-");
}

E2eCluster::~E2eCluster() {
  controllers_.clear();
  ams_.clear();
  standin_.reset();
  if (const char* keep = std::getenv("AMS_HA_KEEP_E2E_DIR"); !keep || !*keep) {
    RunCommand("rm -rf '" + dir_ + "'", nullptr);
  }
}

std::string E2eCluster::ControllerBinary() const {
  return BinaryDir() + "/controller/ams-ha-controller";
}

Status E2eCluster::StartDatabase() { return mysql() ? maria_.Start() : postgres_.Start(); }

Status E2eCluster::StopDatabase() { return mysql() ? maria_.Stop() : postgres_.Stop(); }

const std::string& E2eCluster::DatabasePassword() const {
  return mysql() ? maria_.password() : postgres_.password();
}

const std::string& E2eCluster::DatabaseAdminUrl() const {
  return mysql() ? maria_.admin_url() : postgres_.admin_url();
}

int E2eCluster::DatabasePort() const { return mysql() ? maria_.port() : postgres_.port(); }

std::string E2eCluster::DatabaseUrlAt(int port) const {
  return std::string(mysql() ? "mysql" : "postgresql") +
         "://ams@127.0.0.1:" + std::to_string(port) + "/amsha";
}

LeaseDatabaseOptions E2eCluster::StoreOptions() const {
  return mysql() ? maria_.StoreOptions() : postgres_.StoreOptions();
}

StatusOr<std::unique_ptr<SqlLeaseStore>> E2eCluster::OpenStore() const {
  return OpenEngineLeaseStore(options_.engine, StoreOptions());
}

Status E2eCluster::Start(bool wait_for_leader) {
  Status s = StartDatabase();
  if (!s.ok()) return s;
  StandinOptions standin_options;
  standin_options.ns = "ams";
  standin_ = std::make_unique<StandinProcess>(standin_options);
  s = standin_->Start();
  if (!s.ok()) return s;
  s = CreateService();
  if (!s.ok()) return s;
  s = WriteConfig();
  if (!s.ok()) return s;
  std::string out;
  if (RunCli("init-schema", "", &out) != 0) return InternalError("init-schema failed: " + out);
  ams_.resize(options_.pods);
  for (int i = 0; i < options_.pods; ++i) {
    s = AddPod(i);
    if (!s.ok()) return s;
    if (options_.start_ams) {
      s = StartAms(i);
      if (!s.ok()) return s;
    }
  }
  controllers_.resize(options_.controllers);
  for (int i = 0; i < options_.controllers; ++i) {
    s = StartController(i);
    if (!s.ok()) return s;
  }
  if (wait_for_leader && options_.pods > 0 &&
      !WaitUntil([&] { return Routed().size() == 1; }, milliseconds(20000))) {
    return DeadlineExceededStatus();
  }
  return Status::Ok();
}

int E2eCluster::RunCli(const std::string& command, const std::string& args,
                       std::string* output) const {
  return RunCommand("AMS_HA_DB_PASSWORD='" + DatabasePassword() + "' '" + ControllerBinary() +
                        "' " + command + " --config '" + config_path_ + "' " + args,
                    output);
}

Status E2eCluster::DeadlineExceededStatus() {
  return Status(StatusCode::kDeadlineExceeded, "no leader routed within 20s\n" + Logs());
}

Status E2eCluster::CreateService() {
  std::string body =
      R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"ams-leader","namespace":"ams"},)"
      R"("spec":{"selector":{"amoro.apache.org/ha-role":"leader","amoro.apache.org/ha-pod":"None"},)"
      R"("ports":[{"name":"rest","port":1630,"targetPort":1630}]}})";
  int code = 0;
  std::string out =
      Shell("curl -sS -o /dev/null -w '%{http_code}' --cacert '" + standin_->ca_file() +
                "' -H 'Authorization: Bearer " + standin_->token() +
                "' -H 'Content-Type: application/json' -X POST '" + standin_->api_url() +
                "/api/v1/namespaces/ams/services' -d '" + body + "'",
            &code);
  if (code != 0 || out.find("201") == std::string::npos) {
    return InternalError("cannot create the Service: " + out);
  }
  return Status::Ok();
}

Status E2eCluster::WriteConfig() {
  config_path_ = dir_ + "/controller.yaml";
  std::ofstream f(config_path_);
  f << "kubernetes:\n  kubeconfig: " << standin_->kubeconfig() << "\n  namespace: ams\n"
    << "database:\n  url: " << DatabaseUrlAt(DatabasePort())
    << "\n  connectTimeout: 1s\n  statementTimeout: 1s\n"
    << "controller:\n  leaseDuration: " << options_.lease_duration
    << "\n  renewDeadline: " << options_.renew_deadline
    << "\n  retryPeriod: " << options_.retry_period << "\n"
    << "metrics:\n  address: 127.0.0.1:0\n"
    << "clusters:\n  - name: " << options_.cluster << "\n    podSelector: app=amoro\n"
    << (options_.controller_rest_port == 0
            ? ""
            : "    ports:\n      rest: " + std::to_string(options_.controller_rest_port) + "\n")
    << "    leaseTtl: " << options_.lease_ttl
    << "\n    heartbeatInterval: " << options_.heartbeat_interval
    << "\n    notReadyGracePeriod: " << options_.not_ready_grace
    << "\n    probe:\n      enabled: " << (options_.probe ? "true" : "false")
    << "\n      period: " << options_.probe_period << "\n      timeout: " << options_.probe_timeout
    << "\n      failureThreshold: " << options_.probe_failure_threshold
    << (options_.probe_startup_grace.empty()
            ? ""
            : "\n      startupGracePeriod: " + options_.probe_startup_grace)
    << "\n    mode: " << options_.mode << "\n"
    << options_.extra_yaml;
  return f ? Status::Ok() : InternalError("cannot write " + config_path_);
}

Status E2eCluster::AddPod(int i, bool ready) {
  StandinPod pod;
  pod.name = PodName(i);
  pod.labels = {{"app", "amoro"}};
  pod.pod_ip = PodIp(i);
  pod.ready = ready;
  pod.ports = {{"rest", 1630}};
  AdminResponse r = standin_->CreatePod(pod);
  return r.ok() ? Status::Ok() : InternalError("create pod: " + r.body);
}

Status E2eCluster::StartAms(int i) {
  if (static_cast<int>(ams_.size()) <= i) ams_.resize(i + 1);
  ams_[i] = std::make_unique<ChildProcess>(
      std::vector<std::string>{BinaryDir() + "/tests/fake-ams", "--name", PodName(i), "--listen",
                               PodIp(i) + ":1630"},
      std::map<std::string, std::string>{}, dir_ + "/" + PodName(i) + ".log");
  Status s = ams_[i]->Start();
  if (!s.ok()) return s;
  return ams_[i]->WaitForLog("serving", milliseconds(5000))
             ? Status::Ok()
             : InternalError("fake-ams did not start: " + ams_[i]->Log());
}

void E2eCluster::KillAms(int i) {
  if (i < static_cast<int>(ams_.size()) && ams_[i]) ams_[i]->Stop();
}

void E2eCluster::SetReady(int i, bool ready) { standin_->SetReady(PodName(i), ready); }

void E2eCluster::DeletePod(int i, int grace_seconds) {
  standin_->DeletePod(PodName(i), grace_seconds);
}

Status E2eCluster::StartController(int i) {
  if (static_cast<int>(controllers_.size()) <= i) controllers_.resize(i + 1);
  controllers_[i] = std::make_unique<ChildProcess>(
      std::vector<std::string>{ControllerBinary(), "run", "--config", config_path_},
      std::map<std::string, std::string>{{"POD_NAME", "ctl-" + std::to_string(i)},
                                         {"AMS_HA_DB_PASSWORD", DatabasePassword()}},
      dir_ + "/ctl-" + std::to_string(i) + ".log");
  return controllers_[i]->Start();
}

void E2eCluster::KillController(int i, int signal) {
  if (signal == SIGKILL) {
    controllers_[i]->Signal(SIGKILL);
  } else {
    controllers_[i]->Stop();
  }
  controllers_[i]->Wait(milliseconds(5000));
}

int E2eCluster::MetricsPort(int i, milliseconds timeout) {
  static const std::string kLine = "metrics listening address=127.0.0.1:";
  if (i >= static_cast<int>(controllers_.size()) || !controllers_[i]) return 0;
  if (!controllers_[i]->WaitForLog(kLine, timeout)) return 0;
  std::string log = controllers_[i]->Log();
  // The last line wins: a restarted controller logs a new port.
  return std::atoi(log.c_str() + log.rfind(kLine) + kLine.size());
}

std::string E2eCluster::ActiveController() {
  auto store = OpenStore();
  if (!store.ok()) return "";
  auto row = (*store)->Read({"ams-ha-controller", "HA_CONTROLLER"});
  if (!row.ok() || !row.value() || row.value()->Expired()) return "";
  return row.value()->node_id.value_or("");
}

std::vector<std::string> E2eCluster::Routed() {
  web::json::value record = ParseJsonOrNull(standin_->SelectorRecord());
  if (!record.is_array()) return {};
  std::vector<std::string> last;
  for (const auto& entry : record.as_array()) {
    if (entry.at("service").as_string() == "ams-leader") last = JsonStrings(entry.at("matched"));
  }
  return last;
}

int E2eCluster::MaxSelectedEver() {
  web::json::value record = ParseJsonOrNull(standin_->SelectorRecord());
  int max = 0;
  if (!record.is_array()) return -1;
  for (const auto& entry : record.as_array()) {
    if (entry.at("service").as_string() != "ams-leader") continue;
    max = std::max<int>(max, entry.at("matched").as_array().size());
  }
  return max;
}

std::optional<LeaseRecord> E2eCluster::Lease() {
  auto store = OpenStore();
  if (!store.ok()) return std::nullopt;
  auto row = (*store)->Read({options_.cluster, kAmsServiceName});
  if (!row.ok()) return std::nullopt;
  return row.value();
}

std::string E2eCluster::PodUidToName(const std::string& uid) {
  web::json::value state = ParseJsonOrNull(standin_->State());
  if (!state.is_object() || !state.has_field("pods")) return "";
  for (const auto& pod : state.at("pods").as_array()) {
    if (pod.at("metadata").at("uid").as_string() == uid) {
      return pod.at("metadata").at("name").as_string();
    }
  }
  return "";
}

std::map<std::string, E2ePodState> E2eCluster::PodStates() const {
  std::map<std::string, E2ePodState> out;
  web::json::value state = ParseJsonOrNull(standin_->State());
  if (!state.is_object() || !state.has_field("pods")) return out;
  for (const auto& pod : state.at("pods").as_array()) {
    const auto& meta = pod.at("metadata");
    E2ePodState s;
    s.uid = meta.at("uid").as_string();
    s.terminating = meta.has_field("deletionTimestamp") && !meta.at("deletionTimestamp").is_null();
    if (pod.has_field("status") && pod.at("status").has_field("conditions")) {
      for (const auto& c : pod.at("status").at("conditions").as_array()) {
        if (c.at("type").as_string() == "Ready") s.ready = c.at("status").as_string() == "True";
      }
    }
    out[meta.at("name").as_string()] = s;
  }
  return out;
}

std::string E2eCluster::LeaseHolderPod() {
  auto lease = Lease();
  if (!lease || lease->Expired() || !lease->node_id) return "";
  return PodUidToName(UidFromNodeId(*lease->node_id));
}

std::string E2eCluster::AskThroughService() {
  web::json::value forwards = ParseJsonOrNull(standin_->Forwards());
  int port = 0;
  if (forwards.is_array()) {
    for (const auto& f : forwards.as_array()) {
      if (f.at("service").as_string() == "ams-leader" && f.at("port").as_integer() == 1630) {
        port = f.at("localPort").as_integer();
      }
    }
  }
  if (port == 0) return "";
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    char buf[128];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) answer.assign(buf, n);
  }
  close(fd);
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  return answer;
}

bool E2eCluster::WaitUntil(const std::function<bool()>& pred, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

bool E2eCluster::Agrees() {
  std::vector<std::string> routed = Routed();
  return routed.size() == 1 && routed[0] == LeaseHolderPod();
}

std::string E2eCluster::Logs() {
  std::string out;
  for (size_t i = 0; i < controllers_.size(); ++i) {
    if (!controllers_[i]) continue;
    out += "---- ctl-" + std::to_string(i) + " ----\n" + controllers_[i]->Log();
  }
  return out;
}

}  // namespace amsha::testing
