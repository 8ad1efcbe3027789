// Config: the controller's configuration as plain structs with defaults.
//
// Loaded from YAML by LoadConfig (config_loader.h) and checked as a whole by
// ValidateConfig (config_validator.h). Every default here is the documented
// one (README.md, "Configuration reference"). Plain values.
#ifndef AMS_HA_CONFIG_CONFIG_H_
#define AMS_HA_CONFIG_CONFIG_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/yaml_document.h"

namespace amsha {

using std::chrono::milliseconds;

struct KubernetesConfig {
  std::string kubeconfig;      // empty: in-cluster, or $KUBECONFIG when set
  std::string namespace_name;  // empty: the service account's or the kubeconfig context's
};

struct DatabaseConfig {
  std::string url;  // libpq URI or key=value string, without the password
  std::string password_file;
  std::string password;  // resolved from password_file or AMS_HA_DB_PASSWORD; never logged
  milliseconds connect_timeout{5000};
  milliseconds statement_timeout{5000};
};

struct ControllerConfig {
  std::string identity;  // default: $POD_NAME, else the host name
  milliseconds lease_duration{15000};
  milliseconds renew_deadline{10000};
  milliseconds retry_period{2000};
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
};

struct Config {
  std::string file;  // where it was loaded from
  KubernetesConfig kubernetes;
  DatabaseConfig database;
  ControllerConfig controller;
  MetricsConfig metrics;
  LabelsConfig labels;
  std::vector<ClusterConfig> clusters;
  // Where each key was written ("controller.leaseDuration" -> file:line:col),
  // so that validation errors point at the line to fix.
  std::map<std::string, YamlMark> marks;

  // "config.yaml:4:3: " for a key that was written, else "config.yaml: ".
  std::string Where(const std::string& key_path) const;
};

}  // namespace amsha

#endif  // AMS_HA_CONFIG_CONFIG_H_
