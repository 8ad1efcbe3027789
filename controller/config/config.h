// Config: the controller's configuration as plain structs with defaults.
//
// Loaded from YAML by LoadConfig (config_loader.h) and checked as a whole by
// ValidateConfig (config_validator.h). Every default here is the documented
// one (README.md, "Configuration reference"). Plain values.
#ifndef AMS_HA_CONFIG_CONFIG_H_
#define AMS_HA_CONFIG_CONFIG_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/yaml_document.h"

namespace amsha {

using std::chrono::milliseconds;

struct KubernetesConfig {
  std::string
      kubeconfig;  // --kubeconfig, else this; empty: $KUBECONFIG, in-cluster, ~/.kube/config
  std::string namespace_name;  // empty: the service account's or the kubeconfig context's
  std::string context;         // --context: the kubeconfig context; empty: current-context
};

// TLS to the database: files libpq reads (sslrootcert, sslcert, sslkey), or
// for mysql:// URLs MariaDB Connector/C (ssl-ca, ssl-cert, ssl-key).
struct DatabaseTlsConfig {
  std::string mode;       // sslmode; empty: verify-full when ca_file is set, else the URL's
  std::string ca_file;    // sslrootcert: the CA that signed the server's certificate
  std::string cert_file;  // sslcert: client certificate (with key_file), optional
  std::string key_file;   // sslkey
};

struct DatabaseConfig {
  std::string url;  // libpq URI or key=value string, without the password
  DatabaseTlsConfig tls;
  std::string password_file;
  std::string password;  // resolved from password_file or AMS_HA_DB_PASSWORD; never logged
  milliseconds connect_timeout{5000};
  milliseconds statement_timeout{5000};
  // Connections the active replica may hold, all clusters together: the
  // controller's own row, the lease-change listener and the shared pool of
  // the cluster loops. A standby holds one.
  int max_connections = 4;
};

struct ControllerConfig {
  std::string identity;  // default: $POD_NAME, else the host name
  milliseconds lease_duration{15000};
  milliseconds renew_deadline{10000};
  milliseconds retry_period{2000};
  // Threads that run the cluster loops, all clusters together.
  int workers = 4;
  // Threads that probe the clusters' leaders, all clusters together.
  int probe_workers = 8;
  // The controllers' own row in ha_lease: (lease_name, "HA_CONTROLLER").
  std::string lease_name = "ams-ha-controller";
};

struct MetricsConfig {
  std::string address = "0.0.0.0:9464";
};

struct LabelsConfig {
  std::string role = "amoro.apache.org/ha-role";
  std::string leader = "leader";
  std::string follower = "follower";
  // Per-pod identity label that the Service selector also names, so a stale
  // `leader` label on an old pod can never make the Service select it.
  std::string pod = "amoro.apache.org/ha-pod";
};

struct PortsConfig {
  int table = 1260;
  int optimizing = 1261;
  int rest = 1630;
};

struct ProbeConfig {
  bool enabled = true;
  milliseconds period{2000};
  milliseconds timeout{1000};
  int failure_threshold = 3;
  // The longest a new leader's AMS may take to start (from its election, or
  // its adoption by a newly active controller). Until then, probe failures
  // do not count while the leader's gate reports that it waits for the
  // previous AMS to stop or is starting AMS, or, without a gate, until the
  // leader's AMS first answers the probe. Once AMS served, failures count at
  // once (docs/gate.md, "The controller's side").
  // Must exceed gate.stopGracePeriod + gate.rowTtl + gate.safetyMargin.
  milliseconds startup_grace_period{300000};
};

// Who holds the AMS lease of a cluster:
//   kManage  the controller holds it on behalf of the pods (default);
//   kFollow  AMS runs Amoro's own `ha.type: database` and holds it itself;
//            the controller only reads the row and routes to the pod whose
//            IP is the holder's node_ip. It never writes ha_lease then.
enum class ClusterMode { kManage, kFollow };
const char* ClusterModeName(ClusterMode mode);

// What the cluster's AMS pods are configured with (their config.yaml under
// `ams:`), as far as it matters to the controller: an optional per-cluster
// `ams:` block in Amoro's own key spelling, so that check-config can refuse
// settings that contradict the mode (docs/amoro.md). A field is set only
// when the block writes it; Amoro's defaults are noted for each.
struct AmsSettings {
  bool present = false;                        // the cluster has an `ams:` block
  std::optional<bool> ha_enabled;              // ha.enabled (Amoro: false)
  std::optional<std::string> ha_type;          // ha.type (Amoro: zk)
  std::optional<std::string> ha_cluster_name;  // ha.cluster-name (Amoro: default)
  std::optional<milliseconds> ha_lease_ttl;    // ha.lease-ttl (Amoro: 30s)
  std::optional<milliseconds> ha_heartbeat;    // ha.heartbeat-interval (Amoro: 10s)
  std::optional<bool> ha_master_slave;         // ha.use-master-slave-mode (Amoro: false)
  std::optional<int> table_port;               // thrift-server.table-service.bind-port
  std::optional<int> optimizing_port;          // thrift-server.optimizing-service.bind-port
  std::optional<int> rest_port;                // http-server.bind-port
};

struct ClusterConfig {
  std::string name;          // ha_lease.cluster_name, Amoro's ha.cluster-name
  std::string pod_selector;  // label selector of this cluster's AMS pods
  std::string service = "ams-leader";
  PortsConfig ports;
  milliseconds lease_ttl{30000};           // Amoro's ha.lease-ttl
  milliseconds heartbeat_interval{10000};  // Amoro's ha.heartbeat-interval
  milliseconds not_ready_grace_period{5000};
  ProbeConfig probe;
  ClusterMode mode = ClusterMode::kManage;
  // Follow mode: Amoro stamps lease_expire_ts with its JVM's wall clock, the
  // controller judges it by the database clock; a row Amoro wrote counts as
  // expired only this long after its lease_expire_ts.
  milliseconds clock_skew_margin{2000};
  AmsSettings ams;
};

// `ams-ha-controller gate`, the wrapper of the AMS command in each AMS pod
// (docs/gate.md). Ignored by the controller.
struct GateConfig {
  // SIGTERM to the AMS process group, this long, then SIGKILL (a deliberate
  // stop: the lease moved, or the pod is deleted). The gate keeps renewing
  // its row meanwhile, so the grace does not enter the row's ttl.
  milliseconds stop_grace_period{30000};
  // The gate row's ttl, renewed every renewInterval by the gate whose AMS
  // may run. A successor waits at most this long after a crash of the
  // leader's gate; a gate cut off from the database kills its AMS
  // rowTtl - safetyMargin after its last renewal began (docs/gate.md).
  milliseconds row_ttl{8000};
  milliseconds renew_interval{1000};
  // How often the gate reads the lease when no NOTIFY wakes it.
  milliseconds poll_interval{2000};
  // A leader that cannot confirm its lease starts stopping AMS this long
  // before the lease could expire (the rates of two clocks, scheduling).
  milliseconds safety_margin{1000};
  // The gate's own /readyz and /healthz (HTTP on the pod IP); 0: none.
  int readiness_port = 1631;
  // LISTEN for the controller's NOTIFY; false behind a pooler that cannot
  // carry LISTEN (PgBouncer in transaction mode): polling only.
  bool listen = true;
};

struct Config {
  std::string file;  // where it was loaded from
  KubernetesConfig kubernetes;
  DatabaseConfig database;
  ControllerConfig controller;
  MetricsConfig metrics;
  LabelsConfig labels;
  GateConfig gate;
  std::vector<ClusterConfig> clusters;
  // Where each key was written ("controller.leaseDuration" -> file:line:col),
  // so that validation errors point at the line to fix.
  std::map<std::string, YamlMark> marks;

  // "config.yaml:4:3: " for a key that was written, else "config.yaml: ".
  std::string Where(const std::string& key_path) const;
};

}  // namespace amsha

#endif  // AMS_HA_CONFIG_CONFIG_H_
