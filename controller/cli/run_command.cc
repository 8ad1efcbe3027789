// `run`: the controller process. Wiring only: backends, loops, signals.
#include <signal.h>

#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "cli/backends.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "common/logging.h"
#include "election/cluster_loop.h"
#include "election/controller_elector.h"
#include "election/prober.h"
#include "kube/pod_watcher.h"
#include "metrics/metrics_sink.h"

namespace amsha {
namespace {

int Fatal(const std::string& what) {
  Log(LogLevel::kError, what);
  return kExitFailure;
}

// Blocks SIGTERM and SIGINT in every thread; the main thread waits for them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Checks, before anything runs, what no retry can fix: the table and the
// credentials, and the RBAC rules for each managed Service.
Status Preflight(LeaseStore* store, KubeApi* api, const Config& config) {
  auto row = store->Read({config.controller.lease_name, kControllerServiceName});
  if (!row.ok() && IsFatalStoreError(row.status())) return row.status();
  if (!row.ok()) {
    Log(LogLevel::kWarn, "database unreachable at start; retrying in the background",
        {{"error", row.status().ToString()}});
  }
  for (const ClusterConfig& cluster : config.clusters) {
    auto service = api->GetService(cluster.service);
    if (service.ok()) continue;
    StatusCode code = service.status().code();
    if (code == StatusCode::kUnauthenticated || code == StatusCode::kPermissionDenied) {
      return service.status();
    }
    if (code == StatusCode::kNotFound) {
      return NotFoundError("Service " + cluster.service + " of cluster " + cluster.name +
                           " not found in namespace " + api->Namespace() +
                           ": create it (Helm value leaderService.create=true) or fix "
                           "clusters[].service");
    }
    Log(LogLevel::kWarn, "Kubernetes API unreachable at start; retrying in the background",
        {{"error", service.status().ToString()}});
  }
  return Status::Ok();
}

}  // namespace

int RunController(const ParsedFlags& flags) {
  Config config;
  if (!LoadConfigOrExplain(flags, &config)) return kExitUsage;
  sigset_t stop_signals = BlockStopSignals();

  NullMetricsSink metrics;
  auto api = OpenKubeApi(config, [&metrics](const std::string& verb, int code, double seconds) {
    metrics.KubeRequest(verb, code, seconds);
  });
  if (!api.ok()) return Fatal("kubernetes: " + api.status().message());

  auto controller_store = OpenLeaseStore(config);
  if (!controller_store.ok()) return Fatal("database: " + controller_store.status().message());
  Status preflight = Preflight(controller_store->get(), api->get(), config);
  if (!preflight.ok()) return Fatal(preflight.message());

  Log(LogLevel::kInfo, "starting",
      {{"version", AMS_HA_VERSION},
       {"identity", config.controller.identity},
       {"namespace", (*api)->Namespace()},
       {"clusters", std::to_string(config.clusters.size())}});

  ControllerElector controller(config.controller, controller_store->get(), RealClock::Get());
  TcpProber prober;
  std::vector<std::unique_ptr<PostgresLeaseStore>> stores;
  std::vector<std::unique_ptr<PodWatcher>> watchers;
  std::vector<std::unique_ptr<ClusterLoop>> loops;
  for (const ClusterConfig& cluster : config.clusters) {
    auto store = OpenLeaseStore(config);
    if (!store.ok()) return Fatal("database: " + store.status().message());
    PodWatcher::Options options;
    options.label_selector = cluster.pod_selector;
    auto watcher = std::make_unique<PodWatcher>(api->get(), options);
    ClusterLoop::Deps deps;
    deps.store = store->get();
    deps.api = api->get();
    deps.watcher = watcher.get();
    deps.controller = &controller;
    deps.clock = RealClock::Get();
    deps.metrics = &metrics;
    deps.prober = &prober;
    auto loop = std::make_unique<ClusterLoop>(config, cluster, deps);
    stores.push_back(std::move(store).value());
    watchers.push_back(std::move(watcher));
    loops.push_back(std::move(loop));
  }

  // The controllers' own election: every retryPeriod, on its own thread.
  Cancellation stop;
  std::thread elector_thread([&] {
    bool was_active = false;
    do {
      ControllerStep step = controller.Step();
      bool active = controller.IsActive();
      if (active != was_active) {
        Log(LogLevel::kInfo,
            active ? "became the active controller" : "no longer active; standing by",
            {{"identity", config.controller.identity},
             {"active", active ? config.controller.identity : controller.ActiveIdentity()}});
        for (auto& loop : loops) loop->Wake();
      }
      if (!step.status.ok()) {
        Log(LogLevel::kWarn, "controller lease step failed", {{"error", step.status.ToString()}});
      }
      metrics.ControllerActive(config.controller.identity, active);
      was_active = active;
    } while (!stop.WaitFor(config.controller.retry_period));
  });

  for (auto& loop : loops) loop->Start();  // sets the watcher's listener first
  for (auto& watcher : watchers) watcher->Start();

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  Log(LogLevel::kInfo, "stopping", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});

  // Stop writing first, then give up the controller row (not the AMS
  // leases) so that the standby takes over at once.
  for (auto& loop : loops) loop->Stop();
  stop.Cancel();
  elector_thread.join();
  Status released = controller.Release();
  if (!released.ok()) {
    Log(LogLevel::kWarn,
        "could not release the controller lease; the standby takes over "
        "after leaseDuration",
        {{"error", released.ToString()}});
  }
  for (auto& watcher : watchers) watcher->Stop();
  Log(LogLevel::kInfo, "stopped");
  return kExitOk;
}

}  // namespace amsha
