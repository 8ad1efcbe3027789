#include "support/scale_fleet.h"

#include <cpprest/json.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/logging.h"
#include "support/json_values.h"
#include "support/test_env.h"

namespace amsha::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kNamespace[] = "ams";
constexpr char kDbNowMs[] = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

// $AMS_HA_CONTROLLER_BIN, else this build's controller: lets one build of
// the bench measure another build's controller (main against a branch).
std::string ControllerBin() {
  const char* bin = std::getenv("AMS_HA_CONTROLLER_BIN");
  return bin && *bin ? bin : BinaryDir() + "/controller/ams-ha-controller";
}

std::string Quoted(const std::string& s) { return "\"" + JsonEscape(s) + "\""; }

// "ams-leader-c0042" -> 42; -1 for other names.
int ClusterOfService(const std::string& service) {
  static const std::string kPrefix = "ams-leader-c";
  if (service.compare(0, kPrefix.size(), kPrefix) != 0) return -1;
  return std::atoi(service.c_str() + kPrefix.size());
}

std::map<std::string, int64_t> Counts(const web::json::value& obj) {
  std::map<std::string, int64_t> out;
  if (!obj.is_object()) return out;
  for (const auto& [k, v] : obj.as_object()) out[k] = v.as_number().to_int64();
  return out;
}

}  // namespace

int64_t MonoNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double CpuTicksPerSecond() { return static_cast<double>(::sysconf(_SC_CLK_TCK)); }

ProcSample ReadProc(pid_t pid) {
  ProcSample s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) s.threads = std::atoi(line.c_str() + 8);
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::atoll(line.c_str() + 6);
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = all.rfind(')');
  if (close == std::string::npos || s.threads == 0) return s;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14, 15.
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::atoll(field.c_str());
    if (f == 15) stime = std::atoll(field.c_str());
  }
  s.cpu_ticks = utime + stime;
  s.ok = true;
  return s;
}

RequestCounts RequestCounts::Minus(const RequestCounts& earlier) const {
  RequestCounts out = *this;
  for (const auto& [k, n] : earlier.by_verb) out.by_verb[k] -= n;
  for (const auto& [k, n] : earlier.by_verb_resource) out.by_verb_resource[k] -= n;
  return out;
}

std::string RequestCounts::Describe() const {
  std::string out;
  for (const auto& [k, n] : by_verb_resource) {
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    out += (k == " " ? std::string("discovery") : k) + " " + std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

ConnectionSampler::ConnectionSampler(std::string admin_conninfo, milliseconds period)
    : conninfo_(std::move(admin_conninfo)), period_(period), thread_([this] { Run(); }) {}

ConnectionSampler::~ConnectionSampler() {
  stop_ = true;
  thread_.join();
}

void ConnectionSampler::Run() {
  std::unique_ptr<SqlSession> session;
  while (!stop_) {
    if (!session) {
      auto opened = SqlSession::Open(conninfo_);
      if (opened.ok()) session = std::move(opened).value();
    }
    if (session) {
      auto rows = session->Exec(
          "SELECT coalesce(application_name, ''), count(*) FROM pg_stat_activity "
          "WHERE datname = 'amsha' AND usename = 'ams' GROUP BY 1");
      if (rows.ok()) {
        std::map<std::string, int> now;
        for (const auto& r : rows->rows) now[r[0].value_or("")] = std::atoi(r[1]->c_str());
        std::lock_guard<std::mutex> lock(mu_);
        now_ = now;
        for (const auto& [app, n] : now) peaks_[app] = std::max(peaks_[app], n);
      } else {
        session.reset();
      }
    }
    std::this_thread::sleep_for(period_);
  }
}

std::map<std::string, int> ConnectionSampler::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

std::map<std::string, int> ConnectionSampler::Peaks() {
  std::lock_guard<std::mutex> lock(mu_);
  return peaks_;
}

void ConnectionSampler::ResetPeaks() {
  std::lock_guard<std::mutex> lock(mu_);
  peaks_ = now_;
}

ScaleFleet::ScaleFleet(ScaleOptions options) : options_(std::move(options)) {
  dir_ = MakeTempDir("amsha-scale-");
  if (options_.postgres_default_settings) postgres_.UseDefaultSettings();
}

ScaleFleet::~ScaleFleet() {
  controllers_.clear();
  admin_postgres_.reset();
  admin_amsha_.reset();
  standin_.reset();
  if (const char* keep = std::getenv("AMS_HA_KEEP_E2E_DIR"); !keep || !*keep) {
    RunCommand("rm -rf '" + dir_ + "'", nullptr);
  }
}

std::string ScaleFleet::ClusterName(int c) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "c%04d", c);
  return buf;
}

std::string ScaleFleet::PodIp(int c, int i) const {
  // 250 pods per /24, never .0 or .255; 127.100.0.1 upwards.
  int k = c * options_.pods_per_cluster + i;
  return "127." + std::to_string(100 + k / (250 * 256)) + "." + std::to_string((k / 250) % 256) +
         "." + std::to_string(k % 250 + 1);
}

int ScaleFleet::PodOfNodeId(int c, const std::string& node_id) const {
  std::string ip = node_id.substr(0, node_id.find(':'));
  for (int i = 0; i < options_.pods_per_cluster; ++i) {
    if (PodIp(c, i) == ip) return i;
  }
  return -1;
}

Status ScaleFleet::Start() {
  Status s = postgres_.Start();
  if (!s.ok()) return s;
  StandinOptions standin_options;
  standin_options.ns = kNamespace;
  standin_ = std::make_unique<StandinProcess>(standin_options);
  s = standin_->Start();
  if (!s.ok()) return s;
  for (int c = 0; c < options_.clusters; ++c) {
    std::string body =
        R"({"apiVersion":"v1","kind":"Service","metadata":{"name":)" + Quoted(ServiceName(c)) +
        R"(,"namespace":"ams"},"spec":{"selector":{"amoro.apache.org/ha-role":"leader",)"
        R"("amoro.apache.org/ha-pod":"None"},"ports":[{"name":"rest","port":1630,)"
        R"("targetPort":1630}]}})";
    AdminResponse r = standin_->Admin("POST", "/admin/services", body);
    if (!r.ok()) return InternalError("cannot create " + ServiceName(c) + ": " + r.body);
    for (int i = 0; i < options_.pods_per_cluster; ++i) {
      s = AddPod(c, i);
      if (!s.ok()) return s;
    }
  }
  s = WriteConfig();
  if (!s.ok()) return s;
  std::string out;
  int rc = RunCommand("AMS_HA_DB_PASSWORD='" + postgres_.password() + "' '" + ControllerBin() +
                          "' init-schema --config '" + config_path_ + "'",
                      &out);
  return rc == 0 ? Status::Ok() : InternalError("init-schema failed: " + out);
}

Status ScaleFleet::AddPod(int c, int i) {
  StandinPod pod;
  pod.name = PodName(c, i);
  pod.labels = {{"app", "amoro"}, {"ams-cluster", ClusterName(c)}};
  pod.pod_ip = PodIp(c, i);
  pod.ready = true;
  pod.ports = {{"rest", 1630}};
  AdminResponse r = standin_->CreatePod(pod);
  return r.ok() ? Status::Ok() : InternalError("create pod " + pod.name + ": " + r.body);
}

Status ScaleFleet::WriteConfig() {
  config_path_ = dir_ + "/controller.yaml";
  std::ofstream f(config_path_);
  f << "kubernetes:\n  kubeconfig: " << standin_->kubeconfig() << "\n  namespace: " << kNamespace
    << "\ndatabase:\n  url: " << postgres_.url() << "\n"
    << options_.database_yaml
    << (options_.controller_yaml.empty() ? "" : "controller:\n" + options_.controller_yaml)
    << "metrics:\n  address: 127.0.0.1:0\nclusters:\n";
  for (int c = 0; c < options_.clusters; ++c) {
    f << "  - name: " << ClusterName(c)
      << "\n    podSelector: app=amoro,ams-cluster=" << ClusterName(c)
      << "\n    service: " << ServiceName(c) << "\n    probe:\n      enabled: false\n";
  }
  return f ? Status::Ok() : InternalError("cannot write " + config_path_);
}

bool ScaleFleet::ConfigAccepted(std::string* out) const {
  return RunCommand("AMS_HA_DB_PASSWORD='" + postgres_.password() + "' '" + ControllerBin() +
                        "' check-config --config '" + config_path_ + "' 2>&1",
                    out) == 0;
}

Status ScaleFleet::StartController(int i) {
  if (static_cast<int>(controllers_.size()) <= i) {
    controllers_.resize(i + 1);
    started_ns_.resize(i + 1, 0);
  }
  controllers_[i] = std::make_unique<ChildProcess>(
      std::vector<std::string>{ControllerBin(), "run", "--config", config_path_},
      std::map<std::string, std::string>{{"POD_NAME", "ctl-" + std::to_string(i)},
                                         {"AMS_HA_DB_PASSWORD", postgres_.password()},
                                         {"PGAPPNAME", AppName(i)}},
      dir_ + "/ctl-" + std::to_string(i) + ".log");
  started_ns_[i] = MonoNowNs();
  return controllers_[i]->Start();
}

void ScaleFleet::KillController(int i, int signal) {
  controllers_[i]->Signal(signal);
  controllers_[i]->Wait(milliseconds(5000));
}

ChildProcess* ScaleFleet::controller(int i) {
  return i < static_cast<int>(controllers_.size()) ? controllers_[i].get() : nullptr;
}

int64_t ScaleFleet::controller_started_ns(int i) const { return started_ns_.at(i); }

std::string ScaleFleet::ConnectionSamplerConninfo() const {
  // The superuser over the trusted socket, on database `postgres`: the
  // monitoring's own transactions are not counted in `amsha`.
  std::string url = postgres_.admin_url();
  size_t db = url.find("/amsha");
  return db == std::string::npos ? url : url.replace(db, 6, "/postgres");
}

StatusOr<SqlSession*> ScaleFleet::Admin(bool on_amsha) {
  auto& slot = on_amsha ? admin_amsha_ : admin_postgres_;
  if (!slot) {
    auto opened = SqlSession::Open(on_amsha ? postgres_.admin_url() : ConnectionSamplerConninfo());
    if (!opened.ok()) return opened.status();
    slot = std::move(opened).value();
  }
  return slot.get();
}

StatusOr<std::map<std::string, int>> ScaleFleet::Connections() {
  auto session = Admin(false);
  if (!session.ok()) return session.status();
  auto rows = (*session)->Exec(
      "SELECT coalesce(application_name, ''), count(*) FROM pg_stat_activity "
      "WHERE datname = 'amsha' AND usename = 'ams' GROUP BY 1");
  if (!rows.ok()) {
    admin_postgres_.reset();
    return rows.status();
  }
  std::map<std::string, int> out;
  for (const auto& r : rows->rows) out[r[0].value_or("")] = std::atoi(r[1]->c_str());
  return out;
}

StatusOr<int64_t> ScaleFleet::XactCommit() {
  auto session = Admin(false);
  if (!session.ok()) return session.status();
  auto v = (*session)->Scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = 'amsha'");
  if (!v.ok()) {
    admin_postgres_.reset();
    return v.status();
  }
  return static_cast<int64_t>(std::atoll(v->c_str()));
}

StatusOr<std::vector<ScaleFleet::LeaseRow>> ScaleFleet::AmsLeases() {
  auto session = Admin(true);
  if (!session.ok()) return session.status();
  auto rows =
      (*session)->Exec(std::string("SELECT cluster_name, CASE WHEN lease_expire_ts > ") + kDbNowMs +
                       " THEN coalesce(node_id, '') ELSE '' END, version FROM ha_lease "
                       "WHERE service_name = 'AMS'");
  if (!rows.ok()) {
    admin_amsha_.reset();
    return rows.status();
  }
  std::vector<LeaseRow> out(options_.clusters);
  for (const auto& r : rows->rows) {
    const std::string name = r[0].value_or("");
    if (name.size() < 2 || name[0] != 'c') continue;
    int c = std::atoi(name.c_str() + 1);
    if (c < 0 || c >= options_.clusters || name != ClusterName(c)) continue;
    out[c].node_id = r[1].value_or("");
    out[c].version = std::atoll(r[2].value_or("-1").c_str());
  }
  return out;
}

std::string ScaleFleet::ActiveController() {
  auto session = Admin(true);
  if (!session.ok()) return "";
  auto v = (*session)->Scalar(
      std::string("SELECT node_id FROM ha_lease WHERE cluster_name = 'ams-ha-controller' AND "
                  "service_name = 'HA_CONTROLLER' AND lease_expire_ts > ") +
      kDbNowMs);
  if (!v.ok()) {
    admin_amsha_.reset();
    return "";
  }
  return *v;
}

StatusOr<RequestCounts> ScaleFleet::Requests() {
  AdminResponse r = standin_->Admin("GET", "/admin/record/request-counts");
  web::json::value j = ParseJsonOrNull(r.body);
  if (!r.ok() || !j.is_object()) return UnavailableError("request-counts: " + r.body);
  RequestCounts out;
  out.by_verb = Counts(j.at("byVerb"));
  out.by_verb_resource = Counts(j.at("byVerbResource"));
  return out;
}

StatusOr<ScaleFleet::Routing> ScaleFleet::RoutedToLeaders() {
  auto leases = AmsLeases();
  if (!leases.ok()) return leases.status();
  AdminResponse r = standin_->Admin("GET", "/admin/record/selectors");
  web::json::value record = ParseJsonOrNull(r.body);
  if (!record.is_array()) return UnavailableError("selector record: " + r.body);
  // Per cluster: (matched, monoNs) in record order.
  std::vector<std::vector<std::pair<std::vector<std::string>, int64_t>>> history(options_.clusters);
  for (const auto& e : record.as_array()) {
    int c = ClusterOfService(e.at("service").as_string());
    if (c < 0 || c >= options_.clusters) continue;
    history[c].emplace_back(JsonStrings(e.at("matched")), e.at("monoNs").as_number().to_int64());
  }
  Routing out;
  for (int c = 0; c < options_.clusters; ++c) {
    int leader = PodOfNodeId(c, (*leases)[c].node_id);
    const auto& h = history[c];
    const std::vector<std::string> want = {PodName(c, leader)};
    if (leader < 0 || h.empty() || h.back().first != want) {
      out.unrouted.push_back(c);
      continue;
    }
    // The earliest entry of the trailing run that selects the leader.
    size_t k = h.size() - 1;
    while (k > 0 && h[k - 1].first == want) --k;
    ++out.routed;
    out.last_switch_ns = std::max(out.last_switch_ns, h[k].second);
  }
  return out;
}

StatusOr<std::vector<std::string>> ScaleFleet::Selected(int c) {
  AdminResponse r = standin_->Admin("GET", "/admin/record/selectors?service=" + ServiceName(c));
  web::json::value record = ParseJsonOrNull(r.body);
  if (!record.is_array()) return UnavailableError("selector record: " + r.body);
  if (record.as_array().size() == 0) return std::vector<std::string>{};
  return JsonStrings(record.as_array().at(record.as_array().size() - 1).at("matched"));
}

bool ScaleFleet::WaitUntilSelectsOne(int c, milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto selected = Selected(c);
    if (selected.ok() && selected->size() == 1) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

int64_t ScaleFleet::TimeLeaderDeletion(int c, milliseconds timeout, std::string* why) {
  auto selected = Selected(c);
  if (!selected.ok() || selected->size() != 1) {
    *why = ServiceName(c) + " does not select one pod before the deletion";
    return -1;
  }
  const std::string old = selected->front();
  const int64_t t0 = MonoNowNs();
  AdminResponse del = standin_->DeletePod(old, 1);
  if (!del.ok()) {
    *why = "DELETE " + old + ": " + del.body;
    return -1;
  }
  int64_t switched = -1;
  const int64_t deadline = t0 + std::chrono::nanoseconds(timeout).count();
  while (switched < 0 && MonoNowNs() < deadline) {
    AdminResponse r = standin_->Admin("GET", "/admin/record/selectors?service=" + ServiceName(c) +
                                                 "&sinceMonoNs=" + std::to_string(t0));
    web::json::value record = ParseJsonOrNull(r.body);
    if (record.is_array()) {
      for (const auto& e : record.as_array()) {
        std::vector<std::string> matched = JsonStrings(e.at("matched"));
        if (matched.size() == 1 && matched[0] != old) {
          switched = e.at("monoNs").as_number().to_int64() - t0;
          break;
        }
      }
    }
    if (switched < 0) std::this_thread::sleep_for(milliseconds(5));
  }
  if (switched < 0) *why = ServiceName(c) + " did not switch away from " + old;
  // Put the pod back once the stand-in removed it (grace 1 s).
  int i = std::atoi(old.c_str() + old.rfind('-') + 1);
  const auto until = std::chrono::steady_clock::now() + milliseconds(15000);
  while (!AddPod(c, i).ok() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  return switched;
}

std::string ScaleFleet::Logs(size_t tail_bytes) {
  std::string out;
  for (size_t i = 0; i < controllers_.size(); ++i) {
    if (!controllers_[i]) continue;
    std::string log = controllers_[i]->Log();
    if (log.size() > tail_bytes) log = "..." + log.substr(log.size() - tail_bytes);
    out += "---- ctl-" + std::to_string(i) + " ----\n" + log;
  }
  return out;
}

}  // namespace amsha::testing
