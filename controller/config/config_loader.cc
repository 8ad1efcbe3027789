#include "config/config_loader.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/duration.h"
#include "config/config_validator.h"

namespace amsha {
namespace {

// Reads the keys of one YAML map into fields, remembering which keys it
// consumed so that the rest can be reported as unknown.
class MapReader {
 public:
  MapReader(const YamlNode* node, std::string path, Config* config,
            std::vector<std::string>* errors)
      : node_(node), path_(std::move(path)), config_(config), errors_(errors) {}

  // Checks that the node is a map (or absent/null: all defaults).
  bool Valid() {
    if (!node_ || node_->IsNull()) return false;
    if (!node_->IsMap()) {
      Error(node_->mark(), path_,
            std::string("expected a map, got ") + YamlNode::KindName(node_->kind()));
      return false;
    }
    return true;
  }

  const YamlNode* Take(const std::string& key) {
    seen_.insert(key);
    if (!node_ || !node_->IsMap()) return nullptr;
    const YamlNode* value = node_->Get(key);
    if (value) {
      for (const auto& e : node_->entries()) {
        if (e.key == key) config_->marks[Path(key)] = e.key_mark;
      }
    }
    return value;
  }

  std::string Path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  void String(const std::string& key, std::string* out, bool required = false) {
    const YamlNode* v = Take(key);
    if (!v || v->IsNull()) {
      if (required) MissingKey(key, "a string");
      return;
    }
    if (!v->IsScalar()) return WrongType(*v, key, "a string");
    *out = v->scalar();
  }

  void Duration(const std::string& key, milliseconds* out) {
    const YamlNode* v = Take(key);
    if (!v || v->IsNull()) return;
    auto d = v->IsScalar() ? ParseDuration(v->scalar()) : std::nullopt;
    if (!d) return WrongType(*v, key, "a duration like 500ms, 10s or 1m");
    *out = *d;
  }

  void Int(const std::string& key, int* out) {
    const YamlNode* v = Take(key);
    if (!v || v->IsNull()) return;
    if (v->IsScalar() && !v->quoted()) {
      try {
        size_t used = 0;
        long long n = std::stoll(v->scalar(), &used);
        if (used == v->scalar().size() && n >= INT32_MIN && n <= INT32_MAX) {
          *out = static_cast<int>(n);
          return;
        }
      } catch (const std::exception&) {
      }
    }
    WrongType(*v, key, "an integer");
  }

  void Bool(const std::string& key, bool* out) {
    const YamlNode* v = Take(key);
    if (!v || v->IsNull()) return;
    if (v->IsScalar() && !v->quoted()) {
      if (v->scalar() == "true") {
        *out = true;
        return;
      }
      if (v->scalar() == "false") {
        *out = false;
        return;
      }
    }
    WrongType(*v, key, "true or false");
  }

  // Reports every key that no Take() asked for.
  void RejectUnknownKeys(const std::string& known_hint) {
    if (!node_ || !node_->IsMap()) return;
    for (const auto& e : node_->entries()) {
      if (!seen_.count(e.key)) {
        Error(e.key_mark, Path(e.key), "unknown key; expected one of " + known_hint);
      }
    }
  }

  void MissingKey(const std::string& key, const std::string& expected) {
    YamlMark mark = node_ ? node_->mark() : YamlMark{config_->file, 0, 0};
    Error(mark, Path(key), "required key is missing; expected " + expected);
  }

  void WrongType(const YamlNode& v, const std::string& key, const std::string& expected) {
    std::string got = v.IsScalar() ? "\"" + v.scalar() + "\"" : YamlNode::KindName(v.kind());
    Error(v.mark(), Path(key), "expected " + expected + ", got " + got);
  }

  void Error(const YamlMark& mark, const std::string& path, const std::string& what) {
    errors_->push_back(mark.ToString() + ": " + path + ": " + what);
  }

 private:
  const YamlNode* node_;
  std::string path_;
  Config* config_;
  std::vector<std::string>* errors_;
  std::set<std::string> seen_;
};

void ReadProbe(MapReader& parent, const std::string& key, ProbeConfig* probe, Config* config,
               std::vector<std::string>* errors) {
  MapReader r(parent.Take(key), parent.Path(key), config, errors);
  if (!r.Valid()) return;
  r.Bool("enabled", &probe->enabled);
  r.Duration("period", &probe->period);
  r.Duration("timeout", &probe->timeout);
  r.Int("failureThreshold", &probe->failure_threshold);
  r.Duration("startupGracePeriod", &probe->startup_grace_period);
  r.RejectUnknownKeys("enabled, period, timeout, failureThreshold, startupGracePeriod");
}

// A duration as Amoro's ConfigHelpers.TimeUtils.parseDuration reads it: an
// integer and an optional unit label ("30s", "1min", "500 ms"); a bare
// number is milliseconds.
std::optional<milliseconds> ParseAmoroDuration(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return std::nullopt;
  size_t pos = begin;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
  if (pos == begin || pos - begin > 15) return std::nullopt;
  const long long n = std::stoll(text.substr(begin, pos - begin));
  std::string unit;
  for (size_t i = pos; i < text.size(); ++i) {
    if (text[i] != ' ' && text[i] != '\t') {
      unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    }
  }
  static const std::map<std::string, long long> kUnitMs = {
      {"", 1},          {"ms", 1},          {"milli", 1},
      {"millis", 1},    {"millisecond", 1}, {"milliseconds", 1},
      {"s", 1000},      {"sec", 1000},      {"secs", 1000},
      {"second", 1000}, {"seconds", 1000},  {"m", 60000},
      {"min", 60000},   {"minute", 60000},  {"minutes", 60000},
      {"h", 3600000},   {"hour", 3600000},  {"hours", 3600000},
      {"d", 86400000},  {"day", 86400000},  {"days", 86400000}};
  auto it = kUnitMs.find(unit);
  if (it == kUnitMs.end()) return std::nullopt;
  return milliseconds(n * it->second);
}

// The optional `ams:` block: the AMS settings of the cluster's pods, in
// Amoro's own spelling and nesting (its config.yaml under `ams:`).
void ReadAmsSettings(MapReader& parent, AmsSettings* ams, Config* config,
                     std::vector<std::string>* errors) {
  MapReader r(parent.Take("ams"), parent.Path("ams"), config, errors);
  if (!r.Valid()) return;
  ams->present = true;
  auto duration = [&](MapReader& m, const std::string& key, std::optional<milliseconds>* out) {
    const YamlNode* v = m.Take(key);
    if (!v || v->IsNull()) return;
    auto d = v->IsScalar() ? ParseAmoroDuration(v->scalar()) : std::nullopt;
    if (!d) return m.WrongType(*v, key, "a duration as Amoro writes it (30s, 1min, 500ms)");
    *out = *d;
  };
  auto boolean = [](MapReader& m, const std::string& key, std::optional<bool>* out) {
    const YamlNode* v = m.Take(key);
    if (!v || v->IsNull()) return;
    bool b = false;
    m.Bool(key, &b);
    *out = b;
  };
  auto string = [](MapReader& m, const std::string& key, std::optional<std::string>* out) {
    const YamlNode* v = m.Take(key);
    if (!v || v->IsNull()) return;
    std::string text;
    m.String(key, &text);
    *out = text;
  };
  auto port = [](MapReader& m, const std::string& key, std::optional<int>* out) {
    const YamlNode* v = m.Take(key);
    if (!v || v->IsNull()) return;
    int number = 0;
    m.Int(key, &number);
    *out = number;
  };
  {
    MapReader ha(r.Take("ha"), r.Path("ha"), config, errors);
    if (ha.Valid()) {
      boolean(ha, "enabled", &ams->ha_enabled);
      string(ha, "type", &ams->ha_type);
      string(ha, "cluster-name", &ams->ha_cluster_name);
      duration(ha, "lease-ttl", &ams->ha_lease_ttl);
      duration(ha, "heartbeat-interval", &ams->ha_heartbeat);
      boolean(ha, "use-master-slave-mode", &ams->ha_master_slave);
      ha.RejectUnknownKeys(
          "enabled, type, cluster-name, lease-ttl, heartbeat-interval, use-master-slave-mode");
    }
  }
  {
    MapReader thrift(r.Take("thrift-server"), r.Path("thrift-server"), config, errors);
    if (thrift.Valid()) {
      for (auto [key, out] :
           {std::pair<const char*, std::optional<int>*>{"table-service", &ams->table_port},
            {"optimizing-service", &ams->optimizing_port}}) {
        MapReader service(thrift.Take(key), thrift.Path(key), config, errors);
        if (!service.Valid()) continue;
        port(service, "bind-port", out);
        service.RejectUnknownKeys("bind-port");
      }
      thrift.RejectUnknownKeys("table-service, optimizing-service");
    }
  }
  {
    MapReader http(r.Take("http-server"), r.Path("http-server"), config, errors);
    if (http.Valid()) {
      port(http, "bind-port", &ams->rest_port);
      http.RejectUnknownKeys("bind-port");
    }
  }
  r.RejectUnknownKeys("ha, thrift-server, http-server");
}

void ReadCluster(const YamlNode& node, const std::string& path, ClusterConfig* c, Config* config,
                 std::vector<std::string>* errors) {
  MapReader r(&node, path, config, errors);
  if (!r.Valid()) {
    if (node.IsNull()) r.Error(node.mark(), path, "expected a map with name and podSelector");
    return;
  }
  r.String("name", &c->name, /*required=*/true);
  r.String("podSelector", &c->pod_selector, /*required=*/true);
  r.String("service", &c->service);
  {
    MapReader ports(r.Take("ports"), r.Path("ports"), config, errors);
    if (ports.Valid()) {
      ports.Int("table", &c->ports.table);
      ports.Int("optimizing", &c->ports.optimizing);
      ports.Int("rest", &c->ports.rest);
      ports.RejectUnknownKeys("table, optimizing, rest");
    }
  }
  r.Duration("leaseTtl", &c->lease_ttl);
  r.Duration("heartbeatInterval", &c->heartbeat_interval);
  r.Duration("notReadyGracePeriod", &c->not_ready_grace_period);
  ReadProbe(r, "probe", &c->probe, config, errors);
  std::string mode;
  r.String("mode", &mode);
  if (mode == "follow") {
    c->mode = ClusterMode::kFollow;
  } else if (!mode.empty() && mode != "manage") {
    const YamlNode* v = r.Take("mode");
    r.WrongType(*v, "mode", "manage or follow");
  }
  r.Duration("clockSkewMargin", &c->clock_skew_margin);
  ReadAmsSettings(r, &c->ams, config, errors);
  r.RejectUnknownKeys(
      "name, podSelector, service, ports, leaseTtl, heartbeatInterval, notReadyGracePeriod, "
      "probe, mode, clockSkewMargin, ams");
}

void ResolveEnvironment(Config* config, const ConfigEnv& env, std::vector<std::string>* errors) {
  if (config->controller.identity.empty()) {
    auto pod = env.getenv("POD_NAME");
    config->controller.identity = pod && !pod->empty() ? *pod : env.hostname();
  }
  if (!config->database.password_file.empty()) {
    auto content = env.read_file(config->database.password_file);
    if (!content) {
      errors->push_back(config->Where("database.passwordFile") +
                        "database.passwordFile: cannot read \"" + config->database.password_file +
                        "\"; mount the Secret there or unset it");
    } else {
      std::string pw = *content;
      while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
      config->database.password = pw;
    }
  } else if (auto pw = env.getenv("AMS_HA_DB_PASSWORD")) {
    config->database.password = *pw;
  }
}

}  // namespace

const char* ClusterModeName(ClusterMode mode) {
  return mode == ClusterMode::kFollow ? "follow" : "manage";
}

std::string Config::Where(const std::string& key_path) const {
  auto it = marks.find(key_path);
  if (it != marks.end()) return it->second.ToString() + ": ";
  return file + ": ";
}

ConfigEnv ConfigEnv::Process() {
  ConfigEnv env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  env.hostname = [] {
    char buf[256] = {0};
    if (gethostname(buf, sizeof(buf) - 1) != 0) return std::string("ams-ha-controller");
    return std::string(buf);
  };
  env.read_file = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  return env;
}

StatusOr<Config> LoadConfigFromString(const std::string& yaml, const std::string& name,
                                      const ConfigEnv& env) {
  auto doc = ParseYamlString(yaml, name);
  if (!doc.ok()) return doc.status();
  Config config;
  config.file = name;
  std::vector<std::string> errors;
  MapReader root(&doc.value(), "", &config, &errors);
  if (!doc->IsMap()) {
    return InvalidArgumentError(name + ": expected a map with the keys database and clusters");
  }

  {
    MapReader r(root.Take("kubernetes"), "kubernetes", &config, &errors);
    if (r.Valid()) {
      r.String("kubeconfig", &config.kubernetes.kubeconfig);
      r.String("namespace", &config.kubernetes.namespace_name);
      r.RejectUnknownKeys("kubeconfig, namespace");
    }
  }
  {
    const YamlNode* db = root.Take("database");
    MapReader r(db, "database", &config, &errors);
    if (!db) {
      root.MissingKey("database", "a map with url");
    } else if (r.Valid()) {
      r.String("url", &config.database.url, /*required=*/true);
      r.String("passwordFile", &config.database.password_file);
      r.Duration("connectTimeout", &config.database.connect_timeout);
      r.Duration("statementTimeout", &config.database.statement_timeout);
      r.Int("maxConnections", &config.database.max_connections);
      MapReader tls(r.Take("tls"), "database.tls", &config, &errors);
      if (tls.Valid()) {
        tls.String("mode", &config.database.tls.mode);
        tls.String("caFile", &config.database.tls.ca_file);
        tls.String("certFile", &config.database.tls.cert_file);
        tls.String("keyFile", &config.database.tls.key_file);
        tls.RejectUnknownKeys("mode, caFile, certFile, keyFile");
      }
      r.RejectUnknownKeys(
          "url, tls, passwordFile, connectTimeout, statementTimeout, maxConnections");
    }
  }
  {
    MapReader r(root.Take("controller"), "controller", &config, &errors);
    if (r.Valid()) {
      r.String("identity", &config.controller.identity);
      r.Duration("leaseDuration", &config.controller.lease_duration);
      r.Duration("renewDeadline", &config.controller.renew_deadline);
      r.Duration("retryPeriod", &config.controller.retry_period);
      r.String("leaseName", &config.controller.lease_name);
      r.Int("workers", &config.controller.workers);
      r.Int("probeWorkers", &config.controller.probe_workers);
      r.RejectUnknownKeys(
          "identity, leaseDuration, renewDeadline, retryPeriod, leaseName, workers, "
          "probeWorkers");
    }
  }
  {
    MapReader r(root.Take("metrics"), "metrics", &config, &errors);
    if (r.Valid()) {
      r.String("address", &config.metrics.address);
      r.RejectUnknownKeys("address");
    }
  }
  {
    MapReader r(root.Take("labels"), "labels", &config, &errors);
    if (r.Valid()) {
      r.String("role", &config.labels.role);
      r.String("leader", &config.labels.leader);
      r.String("follower", &config.labels.follower);
      r.String("pod", &config.labels.pod);
      r.RejectUnknownKeys("role, leader, follower, pod");
    }
  }
  {
    MapReader r(root.Take("gate"), "gate", &config, &errors);
    if (r.Valid()) {
      r.Duration("stopGracePeriod", &config.gate.stop_grace_period);
      r.Duration("pollInterval", &config.gate.poll_interval);
      r.Duration("rowTtl", &config.gate.row_ttl);
      r.Duration("renewInterval", &config.gate.renew_interval);
      r.Duration("safetyMargin", &config.gate.safety_margin);
      r.Int("readinessPort", &config.gate.readiness_port);
      r.Bool("listen", &config.gate.listen);
      r.RejectUnknownKeys(
          "stopGracePeriod, pollInterval, rowTtl, renewInterval, safetyMargin, readinessPort, "
          "listen");
    }
  }
  const YamlNode* clusters = root.Take("clusters");
  if (!clusters || clusters->IsNull()) {
    root.MissingKey("clusters", "a list of AMS clusters (name, podSelector)");
  } else if (!clusters->IsSequence()) {
    root.WrongType(*clusters, "clusters", "a list of AMS clusters");
  } else {
    for (size_t i = 0; i < clusters->items().size(); ++i) {
      ClusterConfig c;
      ReadCluster(clusters->items()[i], "clusters[" + std::to_string(i) + "]", &c, &config,
                  &errors);
      config.clusters.push_back(std::move(c));
    }
  }
  root.RejectUnknownKeys("kubernetes, database, controller, metrics, labels, gate, clusters");

  if (errors.empty()) ResolveEnvironment(&config, env, &errors);
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    return InvalidArgumentError(message);
  }
  return config;
}

StatusOr<Config> LoadConfig(const std::string& path, const ConfigEnv& env) {
  auto text = env.read_file(path);
  if (!text) return NotFoundError(path + ": cannot read the configuration file (does it exist?)");
  return LoadConfigFromString(*text, path, env);
}

StatusOr<Config> LoadAndValidateConfig(const std::string& path, const ConfigEnv& env) {
  auto config = LoadConfig(path, env);
  if (!config.ok()) return config;
  std::vector<std::string> problems = ValidateConfig(*config);
  if (problems.empty()) return config;
  std::string message;
  for (const auto& p : problems) message += (message.empty() ? "" : "\n") + p;
  return InvalidArgumentError(message);
}

}  // namespace amsha
