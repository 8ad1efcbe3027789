#include "election/pod_identity.h"

#include <cctype>
#include <cstdint>
#include <cstdio>

#include "kube/label_selector.h"

namespace amsha {

std::string NodeIdFor(const Pod& pod, int optimizing_port) {
  return pod.pod_ip + ":" + std::to_string(optimizing_port) + ":" + pod.uid;
}

std::string UidFromNodeId(const std::string& node_id) {
  size_t colon = node_id.rfind(':');
  return colon == std::string::npos ? "" : node_id.substr(colon + 1);
}

LeaseHolder HolderFor(const Pod& pod, const ClusterConfig& cluster) {
  LeaseHolder holder;
  holder.node_id = NodeIdFor(pod, cluster.ports.optimizing);
  holder.node_ip = pod.pod_ip;
  holder.server_info_json = ServerInfoJson(pod.pod_ip, cluster.ports.table, cluster.ports.rest);
  return holder;
}

std::string PodIdentityLabelValue(const std::string& pod_name) {
  if (pod_name.size() <= 63 && IsValidLabelValue(pod_name)) return pod_name;
  // FNV-1a, 64 bits: stable across processes and releases.
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : pod_name) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  std::string prefix = pod_name.substr(0, 46);
  // Keep only label-value characters and start with an alphanumeric.
  std::string clean;
  for (char c : prefix) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    clean += ok ? c : '-';
  }
  while (!clean.empty() && !std::isalnum(static_cast<unsigned char>(clean.front()))) {
    clean.erase(clean.begin());
  }
  return clean.empty() ? std::string("pod-") + hex : clean + "-" + hex;
}

}  // namespace amsha
