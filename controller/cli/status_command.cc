// `status` and `switchover`: what an operator reads first, and the planned
// hand-over through the active controller.
#include <iostream>
#include <thread>

#include "cli/backends.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/status_report.h"
#include "common/duration.h"
#include "common/logging.h"
#include "election/controller_elector.h"
#include "election/pod_identity.h"
#include "election/switchover.h"
#include "gate/ams_gate.h"
#include "kube/label_selector.h"
#include "routing/desired_state.h"

namespace amsha {
namespace {

ClusterStatus Collect(const ClusterConfig& cluster, LeaseStore* store, KubeApi* api) {
  ClusterStatus s;
  s.name = cluster.name;
  s.service = cluster.service;
  s.mode = cluster.mode;
  auto row = store->Read({cluster.name, kAmsServiceName});
  if (row.ok()) {
    s.lease = row.value();
  } else {
    s.lease_error = row.status().ToString();
  }
  if (cluster.mode == ClusterMode::kManage) {
    auto gate = store->Read({cluster.name, kGateServiceName});
    if (gate.ok()) {
      s.gate = gate.value();
    } else {
      s.gate_error = gate.status().ToString();
    }
  }
  if (!api) return s;
  auto pods = api->ListPods(cluster.pod_selector);
  if (!pods.ok()) {
    s.kube_error = pods.status().ToString();
    return s;
  }
  auto service = api->GetService(cluster.service);
  if (!service.ok()) {
    s.kube_error = "Service " + cluster.service + ": " + service.status().ToString();
    return s;
  }
  ResolvePods(pods->items, SelectedPods(service->selector, pods->items), &s);
  return s;
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
    clusters.push_back(Collect(cluster, store->get(), api.ok() ? api->get() : nullptr));
    if (!api.ok()) clusters.back().kube_error = api.status().message();
  }
  std::cout << (output == "json" ? StatusJson(controller_row.value(), clusters) + "\n"
                                 : StatusText(controller_row.value(), clusters));
  return StatusExitCode(clusters);
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
