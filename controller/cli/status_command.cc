// `status` and `switchover`: what an operator reads first, and the planned
// hand-over through the active controller.
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/backends.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "common/duration.h"
#include "common/logging.h"
#include "election/cluster_elector.h"
#include "election/controller_elector.h"
#include "election/pod_identity.h"
#include "election/switchover.h"
#include "kube/label_selector.h"
#include "routing/desired_state.h"

namespace amsha {
namespace {

std::string Seconds(int64_t ms) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << ms / 1000.0 << "s";
  return out.str();
}

struct PodLine {
  std::string name, ip, role, ready;
  bool routed = false;
};

struct ClusterStatus {
  std::string name, service;
  std::optional<LeaseRecord> lease;
  std::string lease_error;
  std::string leader_pod;
  std::vector<PodLine> pods;
  std::vector<std::string> routed;
  std::string kube_error;
};

ClusterStatus Collect(const Config& config, const ClusterConfig& cluster, LeaseStore* store,
                      KubeApi* api) {
  ClusterStatus s;
  s.name = cluster.name;
  s.service = cluster.service;
  auto row = store->Read({cluster.name, kAmsServiceName});
  if (row.ok()) {
    s.lease = row.value();
  } else {
    s.lease_error = row.status().ToString();
  }
  if (!api) return s;
  auto pods = api->ListPods(cluster.pod_selector);
  if (!pods.ok()) {
    s.kube_error = pods.status().ToString();
    return s;
  }
  auto service = api->GetService(cluster.service);
  if (service.ok()) s.routed = SelectedPods(service->selector, pods->items);
  std::string holder_uid =
      s.lease && s.lease->node_id && !s.lease->Expired() ? UidFromNodeId(*s.lease->node_id) : "";
  for (const Pod& p : pods->items) {
    PodLine line;
    line.name = p.name;
    line.ip = p.pod_ip.empty() ? "-" : p.pod_ip;
    line.role = p.uid == holder_uid ? "Leader" : "Follower";
    if (p.uid == holder_uid) s.leader_pod = p.name;
    line.ready = p.Terminating() ? "Terminating" : (p.ready ? "Ready" : "NotReady");
    line.routed = std::find(s.routed.begin(), s.routed.end(), p.name) != s.routed.end();
    s.pods.push_back(line);
  }
  (void)config;
  return s;
}

std::string Q(const std::string& s) { return "\"" + JsonEscape(s) + "\""; }

void PrintJson(const std::optional<LeaseRecord>& controller_row,
               const std::vector<ClusterStatus>& clusters) {
  std::ostringstream out;
  out << "{\"activeController\":";
  if (controller_row && !controller_row->Expired()) {
    out << "{\"identity\":" << Q(controller_row->node_id.value_or(""))
        << ",\"expiresInMs\":" << controller_row->ExpiresInMs() << "}";
  } else {
    out << "null";
  }
  out << ",\"clusters\":[";
  for (size_t i = 0; i < clusters.size(); ++i) {
    const ClusterStatus& c = clusters[i];
    out << (i ? "," : "") << "{\"name\":" << Q(c.name) << ",\"service\":" << Q(c.service)
        << ",\"leader\":" << (c.leader_pod.empty() ? "null" : Q(c.leader_pod));
    if (c.lease) {
      out << ",\"lease\":{\"nodeId\":" << Q(c.lease->node_id.value_or(""))
          << ",\"nodeIp\":" << Q(c.lease->node_ip.value_or(""))
          << ",\"version\":" << c.lease->version << ",\"expiresInMs\":" << c.lease->ExpiresInMs()
          << ",\"expired\":" << (c.lease->Expired() ? "true" : "false")
          << ",\"amoroPlaceholder\":" << (IsAmoroPlaceholder(*c.lease) ? "true" : "false") << "}";
    } else {
      out << ",\"lease\":null";
    }
    out << ",\"routedPods\":[";
    for (size_t j = 0; j < c.routed.size(); ++j) out << (j ? "," : "") << Q(c.routed[j]);
    out << "],\"pods\":[";
    for (size_t j = 0; j < c.pods.size(); ++j) {
      const PodLine& p = c.pods[j];
      out << (j ? "," : "") << "{\"name\":" << Q(p.name) << ",\"ip\":" << Q(p.ip)
          << ",\"role\":" << Q(p.role) << ",\"state\":" << Q(p.ready)
          << ",\"routed\":" << (p.routed ? "true" : "false") << "}";
    }
    out << "]";
    if (!c.lease_error.empty()) out << ",\"databaseError\":" << Q(c.lease_error);
    if (!c.kube_error.empty()) out << ",\"kubernetesError\":" << Q(c.kube_error);
    out << "}";
  }
  out << "]}";
  std::cout << out.str() << "\n";
}

void PrintText(const std::optional<LeaseRecord>& controller_row,
               const std::vector<ClusterStatus>& clusters) {
  if (controller_row && !controller_row->Expired()) {
    std::cout << "Active controller: " << controller_row->node_id.value_or("?")
              << " (lease expires in " << Seconds(controller_row->ExpiresInMs()) << ")\n";
  } else {
    std::cout << "Active controller: NONE (no replica holds the controller lease)\n";
  }
  for (const ClusterStatus& c : clusters) {
    std::cout << "\nCluster " << c.name << "  (Service " << c.service << ")\n";
    if (!c.lease_error.empty()) std::cout << "  database: " << c.lease_error << "\n";
    if (c.lease && c.lease->node_id) {
      std::cout << "  lease: " << *c.lease->node_id << "  version " << c.lease->version
                << (c.lease->Expired() ? "  EXPIRED"
                                       : "  expires in " + Seconds(c.lease->ExpiresInMs()))
                << "  (database clock)"
                << (IsAmoroPlaceholder(*c.lease)
                        ? "  Amoro's placeholder row: no leader yet (follow mode)"
                        : "")
                << "\n";
    } else if (c.lease_error.empty()) {
      std::cout << "  lease: none\n";
    }
    if (!c.kube_error.empty()) {
      std::cout << "  kubernetes: " << c.kube_error << "\n";
      continue;
    }
    std::cout << "  " << std::left << std::setw(34) << "POD" << std::setw(18) << "IP"
              << std::setw(10) << "ROLE" << std::setw(13) << "STATE"
              << "ROUTED\n";
    for (const PodLine& p : c.pods) {
      std::cout << "  " << std::left << std::setw(34) << p.name << std::setw(18) << p.ip
                << std::setw(10) << p.role << std::setw(13) << p.ready << (p.routed ? "yes" : "")
                << "\n";
    }
    if (c.routed.size() != 1) {
      std::cout << "  WARNING: the Service selects " << c.routed.size() << " pods (healthy: 1)\n";
    }
  }
}

}  // namespace

int RunStatus(const ParsedFlags& flags) {
  Config config;
  if (!LoadConfigOrExplain(flags, &config)) return kExitUsage;
  std::string output = flags.Get("output", "text");
  if (output != "text" && output != "json") {
    std::cerr << "status: --output must be text or json\n";
    return kExitUsage;
  }
  auto store = OpenLeaseStore(config);
  if (!store.ok()) {
    std::cerr << "status: database: " << store.status().message() << "\n";
    return kExitFailure;
  }
  auto controller_row = (*store)->Read({config.controller.lease_name, kControllerServiceName});
  if (!controller_row.ok()) {
    std::cerr << "status: database: " << controller_row.status().message() << "\n";
    return kExitFailure;
  }
  auto api = OpenKubeApi(config);
  std::vector<ClusterStatus> clusters;
  for (const ClusterConfig& cluster : config.clusters) {
    clusters.push_back(Collect(config, cluster, store->get(), api.ok() ? api->get() : nullptr));
    if (!api.ok()) clusters.back().kube_error = api.status().message();
  }
  if (output == "json") {
    PrintJson(controller_row.value(), clusters);
  } else {
    PrintText(controller_row.value(), clusters);
  }
  return kExitOk;
}

int RunSwitchover(const ParsedFlags& flags) {
  Config config;
  if (!LoadConfigOrExplain(flags, &config)) return kExitUsage;
  std::string cluster = flags.Get("cluster");
  std::string target = flags.Get("to");
  if (cluster.empty() || target.empty()) {
    std::cerr << "switchover: --cluster NAME and --to POD are required\n";
    return kExitUsage;
  }
  auto found = std::find_if(config.clusters.begin(), config.clusters.end(),
                            [&](const ClusterConfig& c) { return c.name == cluster; });
  if (found == config.clusters.end()) {
    std::cerr << "switchover: cluster \"" << cluster << "\" is not in " << config.file << "\n";
    return kExitUsage;
  }
  if (found->mode == ClusterMode::kFollow) {
    std::cerr << "switchover: cluster \"" << cluster
              << "\" is in follow mode: AMS elects itself (Amoro's ha.type: database) and the "
                 "controller never writes its lease; restart the AMS leader to move it\n";
    return kExitUsage;
  }
  auto timeout = ParseDuration(flags.Get("timeout", "30s"));
  if (!timeout || timeout->count() <= 0) {
    std::cerr << "switchover: --timeout must be a duration like 30s\n";
    return kExitUsage;
  }
  auto store = OpenLeaseStore(config);
  if (!store.ok()) {
    std::cerr << "switchover: database: " << store.status().message() << "\n";
    return kExitFailure;
  }
  LeaseKey key{cluster, kSwitchoverServiceName};
  auto request = (*store)->Acquire(key, SwitchoverRequestHolder(target), *timeout);
  if (!request.ok()) {
    if (request.status().IsConflict()) {
      auto row = (*store)->Read(key);
      auto pending = row.ok() ? PendingSwitchover(row.value()) : std::nullopt;
      std::cerr << "switchover: another switchover of " << cluster << " is pending"
                << (pending ? " (to " + pending->target_pod + ")" : "")
                << "; wait for it to finish\n";
    } else {
      std::cerr << "switchover: database: " << request.status().message() << "\n";
    }
    return kExitFailure;
  }
  std::cout << "switchover of " << cluster << " to " << target << " requested; waiting up to "
            << FormatDuration(*timeout) << "\n";
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto row = (*store)->Read(key);
    if (!row.ok()) continue;  // transient: keep polling until the deadline
    if (auto answer = SwitchoverAnswerIn(row.value(), request->version)) {
      std::cout << (answer->done ? "done: " : "rejected: ") << answer->message << "\n";
      return answer->done ? kExitOk : kExitFailure;
    }
    if (row.value() && row.value()->Expired()) {
      std::cerr << "switchover: no active controller answered within " << FormatDuration(*timeout)
                << "; check `ams-ha-controller status`\n";
      return kExitFailure;
    }
  }
}

}  // namespace amsha
