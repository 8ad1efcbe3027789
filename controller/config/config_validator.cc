#include "config/config_validator.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <set>
#include <tuple>

#include "common/duration.h"
#include "kube/label_selector.h"
#include "lease/mysql_url.h"
#include "lease/postgres_conninfo.h"

namespace amsha {
namespace {

class Problems {
 public:
  explicit Problems(const Config& config) : config_(config) {}
  void Add(const std::string& key, const std::string& what) {
    lines_.push_back(config_.Where(key) + key + ": " + what);
  }
  std::vector<std::string> Take() { return std::move(lines_); }

 private:
  const Config& config_;
  std::vector<std::string> lines_;
};

std::string D(milliseconds d) { return FormatDuration(d); }

bool ValidHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 >= address.size()) return false;
  for (size_t i = colon + 1; i < address.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(address[i]))) return false;
  }
  int port = std::stoi(address.substr(colon + 1));
  return port >= 0 && port < 65536;  // 0: an ephemeral port (tests)
}

void ValidateTiming(const Config& config, Problems& p) {
  const ControllerConfig& c = config.controller;
  if (c.retry_period.count() <= 0) p.Add("controller.retryPeriod", "must be positive");
  if (c.lease_duration <= c.renew_deadline) {
    p.Add("controller.renewDeadline", "(" + D(c.renew_deadline) +
                                          ") must be shorter than controller.leaseDuration (" +
                                          D(c.lease_duration) + ")");
  }
  if (c.renew_deadline.count() * 10 <= c.retry_period.count() * 12) {
    p.Add("controller.renewDeadline", "(" + D(c.renew_deadline) +
                                          ") must be longer than 1.2 x controller.retryPeriod (" +
                                          D(c.retry_period) + ")");
  }
  if (c.workers < 1 || c.workers > 64) {
    p.Add("controller.workers", "(" + std::to_string(c.workers) + ") must be between 1 and 64");
  }
  if (c.probe_workers < 1 || c.probe_workers > 256) {
    p.Add("controller.probeWorkers",
          "(" + std::to_string(c.probe_workers) + ") must be between 1 and 256");
  }
  if (config.database.max_connections < 3 || config.database.max_connections > 64) {
    p.Add("database.maxConnections",
          "(" + std::to_string(config.database.max_connections) +
              ") must be between 3 and 64: one for the controller's own lease, one to listen "
              "for lease changes, at least one shared by the clusters");
  }
  if (config.database.statement_timeout >= c.renew_deadline) {
    p.Add("database.statementTimeout",
          "(" + D(config.database.statement_timeout) +
              ") must be shorter than controller.renewDeadline (" + D(c.renew_deadline) +
              "), or one slow statement costs the controller its lease");
  }
}

void ValidateAmsSettings(const ClusterConfig& cl, const std::string& at, Problems& p);

void ValidateCluster(const Config& config, size_t i, Problems& p) {
  const ClusterConfig& cl = config.clusters[i];
  const ControllerConfig& c = config.controller;
  std::string at = "clusters[" + std::to_string(i) + "].";
  if (cl.name.empty() || cl.name.size() > 63 || !IsValidLabelValue(cl.name)) {
    p.Add(at + "name", "\"" + cl.name +
                           "\" must be 1-63 characters of [A-Za-z0-9._-], starting and ending "
                           "alphanumeric (it is ha_lease.cluster_name and a label value)");
  }
  if (cl.pod_selector.empty()) {
    p.Add(at + "podSelector", "must not be empty: it selects this cluster's AMS pods");
  } else {
    auto sel = LabelSelector::Parse(cl.pod_selector);
    if (!sel.ok()) p.Add(at + "podSelector", sel.status().message());
  }
  if (!IsDns1035Label(cl.service)) {
    p.Add(at + "service", "\"" + cl.service +
                              "\" is not a valid Service name (lowercase letters, digits and '-', "
                              "starting with a letter, at most 63)");
  }
  for (auto [key, port] : {std::pair<const char*, int>{"table", cl.ports.table},
                           {"optimizing", cl.ports.optimizing},
                           {"rest", cl.ports.rest}}) {
    if (port < 1 || port > 65535) {
      p.Add(at + "ports." + key, std::to_string(port) + " is not a TCP port (1-65535)");
    }
  }
  if (cl.heartbeat_interval.count() <= 0 || cl.heartbeat_interval >= cl.lease_ttl) {
    p.Add(at + "heartbeatInterval", "(" + D(cl.heartbeat_interval) +
                                        ") must be positive and shorter than leaseTtl (" +
                                        D(cl.lease_ttl) + ")");
  }
  milliseconds takeover = c.lease_duration + c.retry_period + cl.heartbeat_interval;
  const bool manage = cl.mode == ClusterMode::kManage;
  // In follow mode AMS holds the lease with Amoro's own timing: the rules
  // below protect leases the controller renews, so they do not apply.
  if (manage && cl.lease_ttl <= takeover) {
    p.Add(at + "leaseTtl",
          "(" + D(cl.lease_ttl) +
              ") must be longer than controller.leaseDuration + controller.retryPeriod + "
              "heartbeatInterval (" +
              D(takeover) + "), so that a controller takeover never lets an AMS lease expire");
  }
  if (cl.not_ready_grace_period.count() < 0) {
    p.Add(at + "notReadyGracePeriod", "must not be negative");
  } else if (manage && cl.not_ready_grace_period >= cl.lease_ttl - cl.heartbeat_interval &&
             cl.heartbeat_interval < cl.lease_ttl) {
    // The lease is not renewed while its pod is NotReady; it must outlive
    // the grace, or a flap shorter than the grace would still expire it.
    p.Add(at + "notReadyGracePeriod", "(" + D(cl.not_ready_grace_period) +
                                          ") must be shorter than leaseTtl - heartbeatInterval (" +
                                          D(cl.lease_ttl - cl.heartbeat_interval) + ")");
  }
  if (cl.clock_skew_margin.count() < 0 || cl.clock_skew_margin >= cl.lease_ttl) {
    p.Add(at + "clockSkewMargin", "(" + D(cl.clock_skew_margin) +
                                      ") must be at least 0s and shorter than leaseTtl (" +
                                      D(cl.lease_ttl) + ")");
  }
  ValidateAmsSettings(cl, at, p);
  if (cl.probe.enabled) {
    if (cl.probe.failure_threshold < 1) {
      p.Add(at + "probe.failureThreshold", "must be at least 1");
    }
    if (cl.probe.timeout.count() <= 0 || cl.probe.timeout > cl.probe.period) {
      p.Add(at + "probe.timeout", "(" + D(cl.probe.timeout) +
                                      ") must be positive and at most probe.period (" +
                                      D(cl.probe.period) + ")");
    }
  }
  // A new leader's gate may wait this long for the previous AMS to stop (a
  // deliberate stop, then the row of a predecessor cut off meanwhile) before
  // its own AMS starts; a start allowance shorter than that fails such a
  // leader over before its AMS could ever answer, and the next the same way.
  const milliseconds predecessor_wait =
      config.gate.stop_grace_period + config.gate.row_ttl + config.gate.safety_margin;
  if (manage && cl.probe.enabled && cl.probe.startup_grace_period <= predecessor_wait) {
    p.Add(at + "probe.startupGracePeriod",
          "(" + D(cl.probe.startup_grace_period) +
              ") must be longer than gate.stopGracePeriod + gate.rowTtl + gate.safetyMargin (" +
              D(predecessor_wait) +
              "): a new leader's AMS may start only that long after its election, and would "
              "be failed over before it could serve (the cluster would never settle)");
  }
  if (manage) {
    for (auto [key, port] : {std::pair<const char*, int>{"table", cl.ports.table},
                             {"optimizing", cl.ports.optimizing},
                             {"rest", cl.ports.rest}}) {
      if (config.gate.readiness_port == port) {
        p.Add("gate.readinessPort", "(" + std::to_string(port) + ") must differ from " + at +
                                        "ports." + key + ": the gate listens next to AMS");
      }
    }
  }
  // A gate re-reads the lease every pollInterval and must confirm it with
  // more than safetyMargin left, or a leader fences itself between reads.
  const GateConfig& g = config.gate;
  if (manage && cl.heartbeat_interval < cl.lease_ttl &&
      g.safety_margin + g.poll_interval >= cl.lease_ttl - cl.heartbeat_interval) {
    p.Add("gate.safetyMargin", "(" + D(g.safety_margin) + ") + gate.pollInterval (" +
                                   D(g.poll_interval) + ") must be shorter than " + at +
                                   "leaseTtl - heartbeatInterval (" +
                                   D(cl.lease_ttl - cl.heartbeat_interval) + ")");
  }
}

// The `ams:` block against the mode: each contradiction is one line naming
// the AMS key, what it says, and what the mode needs (docs/amoro.md).
// Absent keys take Amoro's defaults (AmoroManagementConf) where the mode
// depends on them.
void ValidateAmsSettings(const ClusterConfig& cl, const std::string& at, Problems& p) {
  const AmsSettings& ams = cl.ams;
  if (!ams.present) return;
  const bool follow = cl.mode == ClusterMode::kFollow;
  const std::string ha = at + "ams.ha.";
  if (ams.ha_master_slave.value_or(false)) {
    p.Add(ha + "use-master-slave-mode",
          std::string("true is not supported: every AMS would serve optimizing and optimizers "
                      "would connect to pod IPs (bucket_assignments), bypassing ") +
              cl.service + (follow ? "" : ", and the gate runs one AMS at a time") +
              "; set it to false");
  }
  const bool enabled = ams.ha_enabled.value_or(false);
  if (!follow && enabled) {
    p.Add(ha + "enabled",
          "true contradicts mode: manage (the controller holds the lease and the gate runs one "
          "AMS); set ha.enabled: false in AMS, or mode: follow");
  }
  if (follow && !enabled) {
    p.Add(ha + "enabled", std::string(ams.ha_enabled ? "false" : "unset (Amoro's default false)") +
                              " contradicts mode: follow: AMS must elect itself with ha.enabled: "
                              "true and ha.type: database");
  }
  const std::string type = ams.ha_type.value_or("zk");
  if (follow && enabled && type != "database") {
    p.Add(ha + "type", "\"" + type + "\"" + (ams.ha_type ? "" : " (Amoro's default)") +
                           " contradicts mode: follow: the controller follows the ha_lease row "
                           "of ha.type: database");
  }
  const std::string name = ams.ha_cluster_name.value_or("default");
  if ((ams.ha_cluster_name || follow) && name != cl.name) {
    p.Add(ha + "cluster-name", "\"" + name + "\"" +
                                   (ams.ha_cluster_name ? "" : " (Amoro's default)") +
                                   " must equal the cluster's name \"" + cl.name +
                                   "\": it is the ha_lease.cluster_name both sides use");
  }
  if (follow) {
    const milliseconds ttl = ams.ha_lease_ttl.value_or(milliseconds(30000));
    if (ttl != cl.lease_ttl) {
      p.Add(ha + "lease-ttl", "(" + D(ttl) + (ams.ha_lease_ttl ? "" : ", Amoro's default") +
                                  ") must equal " + at + "leaseTtl (" + D(cl.lease_ttl) +
                                  ") in follow mode: the controller times AMS's lease with it");
    }
    const milliseconds hb = ams.ha_heartbeat.value_or(milliseconds(10000));
    if (hb != cl.heartbeat_interval) {
      p.Add(ha + "heartbeat-interval", "(" + D(hb) + (ams.ha_heartbeat ? "" : ", Amoro's default") +
                                           ") must equal " + at + "heartbeatInterval (" +
                                           D(cl.heartbeat_interval) + ") in follow mode");
    }
  }
  for (auto [key, given, port] :
       {std::tuple<const char*, std::optional<int>, int>{"thrift-server.table-service.bind-port",
                                                         ams.table_port, cl.ports.table},
        {"thrift-server.optimizing-service.bind-port", ams.optimizing_port, cl.ports.optimizing},
        {"http-server.bind-port", ams.rest_port, cl.ports.rest}}) {
    if (given && *given != port) {
      const std::string ours = std::string(key).find("table") != std::string::npos ? "table"
                               : std::string(key).find("optimizing") != std::string::npos
                                   ? "optimizing"
                                   : "rest";
      p.Add(at + "ams." + key, "(" + std::to_string(*given) + ") must equal " + at + "ports." +
                                   ours + " (" + std::to_string(port) + ")");
    }
  }
}

void ValidateGate(const Config& config, Problems& p) {
  const GateConfig& g = config.gate;
  if (g.poll_interval.count() <= 0) p.Add("gate.pollInterval", "must be positive");
  if (g.renew_interval.count() <= 0) p.Add("gate.renewInterval", "must be positive");
  if (g.safety_margin.count() < 0) p.Add("gate.safetyMargin", "must not be negative");
  // A leader's gate kills AMS rowTtl - safetyMargin after its last renewal
  // began; it retries a failed renewal every renewInterval / 4 (at most).
  // So that a database restart of kGateDatabaseBlip never kills a healthy
  // AMS: rowTtl - safetyMargin - renewInterval >= kGateDatabaseBlip
  // (renewInterval covers the retry and the reconnect; docs/gate.md).
  if (g.renew_interval.count() > 0 &&
      g.row_ttl - g.safety_margin - g.renew_interval < kGateDatabaseBlip) {
    p.Add("gate.rowTtl", "(" + D(g.row_ttl) + ") must be at least gate.safetyMargin (" +
                             D(g.safety_margin) + ") + gate.renewInterval (" + D(g.renew_interval) +
                             ") + " + D(kGateDatabaseBlip) +
                             ", so that a database restart that short never stops AMS");
  }
  if (g.readiness_port < 0 || g.readiness_port > 65535) {
    p.Add("gate.readinessPort",
          std::to_string(g.readiness_port) + " is not a TCP port (1-65535, or 0 for none)");
  }
}

void ValidateDatabaseTls(const DatabaseTlsConfig& tls, Problems& p) {
  static const char* const kModes[] = {"disable", "allow",     "prefer",
                                       "require", "verify-ca", "verify-full"};
  if (!tls.mode.empty() &&
      std::find(std::begin(kModes), std::end(kModes), tls.mode) == std::end(kModes)) {
    p.Add("database.tls.mode", "\"" + tls.mode +
                                   "\" is not an sslmode; use verify-full (or verify-ca, "
                                   "require, prefer, allow, disable)");
  }
  if ((tls.mode == "verify-ca" || tls.mode == "verify-full") && tls.ca_file.empty()) {
    p.Add("database.tls.caFile",
          "is required with mode " + tls.mode + ": the CA certificate that signed the server's");
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    p.Add(tls.cert_file.empty() ? "database.tls.certFile" : "database.tls.keyFile",
          "client certificate and key go together: set both database.tls.certFile and "
          "database.tls.keyFile, or neither");
  }
}

}  // namespace

bool IsDns1035Label(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!std::islower(static_cast<unsigned char>(name.front()))) return false;
  if (name.back() == '-') return false;
  for (char c : name) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-')
      return false;
  }
  return true;
}

std::vector<std::string> ValidateConfig(const Config& config) {
  Problems p(config);
  const std::string& url = config.database.url;
  if (url.empty()) {
    p.Add("database.url", "must name the PostgreSQL or MySQL database");
  } else if (IsMysqlUrl(url)) {
    auto parsed = ParseMysqlUrl(url);
    if (!parsed.ok()) {
      // "database.url is not a valid ..." -> "database.url: is not a valid ...".
      std::string why = parsed.status().message();
      if (why.rfind("database.url ", 0) == 0) why = why.substr(13);
      p.Add("database.url", why);
    }
  } else if (url.find("://") != std::string::npos && url.rfind("postgresql://", 0) != 0 &&
             url.rfind("postgres://", 0) != 0) {
    p.Add("database.url",
          "\"" + url.substr(0, url.find("://") + 3) +
              "\" is not a database scheme: use postgresql://, mysql:// or mariadb://");
  }
  std::string in_url;
  if (IsMysqlUrl(url)) {
    auto parsed = ParseMysqlUrl(url);
    if (parsed.ok() && !parsed->password.empty()) {
      in_url = "a password after the user name (user:password@)";
    }
  } else {
    in_url = PasswordInConnUrl(url);
  }
  if (!in_url.empty()) {
    p.Add("database.url",
          "contains " + in_url +
              "; the URL is stored in plain text (a ConfigMap): put the password in the file "
              "named by database.passwordFile (the chart mounts database.existingSecret there) "
              "or in the environment variable AMS_HA_DB_PASSWORD, and remove it from the URL");
  }
  ValidateDatabaseTls(config.database.tls, p);
  if (!config.kubernetes.namespace_name.empty() &&
      (!IsValidLabelValue(config.kubernetes.namespace_name) ||
       config.kubernetes.namespace_name.find('.') != std::string::npos)) {
    p.Add("kubernetes.namespace",
          "\"" + config.kubernetes.namespace_name + "\" is not a valid namespace name");
  }
  if (config.controller.identity.empty()) {
    p.Add("controller.identity", "is empty and neither POD_NAME nor the host name is set");
  }
  if (config.controller.lease_name.empty() || config.controller.lease_name.size() > 64) {
    p.Add("controller.leaseName", "must be 1-64 characters (ha_lease.cluster_name)");
  }
  ValidateTiming(config, p);
  ValidateGate(config, p);
  if (!ValidHostPort(config.metrics.address)) {
    p.Add("metrics.address",
          "\"" + config.metrics.address + "\" must be host:port, e.g. 0.0.0.0:9464");
  }
  if (!IsValidLabelKey(config.labels.role)) {
    p.Add("labels.role", "\"" + config.labels.role + "\" is not a valid label key");
  }
  if (!IsValidLabelKey(config.labels.pod)) {
    p.Add("labels.pod", "\"" + config.labels.pod + "\" is not a valid label key");
  }
  if (config.labels.pod == config.labels.role) {
    p.Add("labels.pod", "must differ from labels.role");
  }
  for (const char* key : {"leader", "follower"}) {
    const std::string& v =
        std::string(key) == "leader" ? config.labels.leader : config.labels.follower;
    if (v.empty() || !IsValidLabelValue(v)) {
      p.Add(std::string("labels.") + key, "\"" + v + "\" is not a valid label value");
    }
  }
  if (config.labels.leader == config.labels.follower) {
    p.Add("labels.follower", "must differ from labels.leader");
  }
  if (config.clusters.empty()) p.Add("clusters", "must list at least one AMS cluster");
  std::set<std::string> names, services;
  for (size_t i = 0; i < config.clusters.size(); ++i) {
    ValidateCluster(config, i, p);
    const ClusterConfig& cl = config.clusters[i];
    std::string at = "clusters[" + std::to_string(i) + "].";
    if (!names.insert(cl.name).second) p.Add(at + "name", "\"" + cl.name + "\" is listed twice");
    if (!services.insert(cl.service).second) {
      p.Add(at + "service", "\"" + cl.service + "\" is already used by another cluster");
    }
    if (cl.name == config.controller.lease_name) {
      p.Add(at + "name", "must differ from controller.leaseName (\"" + cl.name + "\")");
    }
  }
  return p.Take();
}

}  // namespace amsha
