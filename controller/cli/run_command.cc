// `run`: the controller process. Wiring only: backends, loops, signals.
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "cli/backends.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "common/logging.h"
#include "common/work_scheduler.h"
#include "election/cluster_loop.h"
#include "election/controller_elector.h"
#include "election/prober.h"
#include "kube/label_selector.h"
#include "kube/pod_views.h"
#include "kube/pod_watcher.h"
#include "kube/service_watcher.h"
#include "lease/caching_lease_store.h"
#include "lease/lease_row_cache.h"
#include "lease/lease_row_feed.h"
#include "lease/lease_store_pool.h"
#include "lease/postgres_conninfo.h"
#include "metrics/health_checks.h"
#include "metrics/observability_server.h"
#include "metrics/prometheus_metrics.h"

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

// The password in any form it may take in a log line: as configured,
// percent-encoded, and as written in the URL's user-info by mistake.
void MaskDatabaseSecrets(const DatabaseConfig& database) {
  AddLogSecret(database.password);
  AddLogSecret(PercentEncode(database.password));
  size_t scheme = database.url.find("://");
  size_t at = database.url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return;
  std::string userinfo = database.url.substr(scheme + 3, at - scheme - 3);
  size_t colon = userinfo.find(':');
  if (colon != std::string::npos) AddLogSecret(userinfo.substr(colon + 1));
}

// /healthz fails when a loop has not started a pass for this long. A pass
// may wait on a few database calls during an outage (connect + statement
// timeout each), so the bound leaves room for four and never goes below a
// minute: a liveness restart must mean "stuck", never "slow".
std::chrono::milliseconds LivenessBound(const Config& config) {
  std::chrono::milliseconds call =
      config.database.connect_timeout + config.database.statement_timeout;
  return std::max<std::chrono::milliseconds>(std::chrono::minutes(1),
                                             4 * call + config.controller.retry_period);
}

// The replica the row names now, when it is not this one ("unknown" while
// the row cannot be read).
std::string OtherActive(const ControllerElector& controller) {
  std::string other = controller.ActiveIdentity();
  return other.empty() || other == controller.identity() ? "unknown" : other;
}

}  // namespace

int RunController(const ParsedFlags& flags) {
  Config config;
  if (!LoadConfigOrExplain(flags, &config)) return kExitUsage;
  sigset_t stop_signals = BlockStopSignals();
  MaskDatabaseSecrets(config.database);

  PrometheusMetrics::Options metrics_options;
  metrics_options.version = AMS_HA_VERSION;
  metrics_options.identity = config.controller.identity;
  for (const ClusterConfig& cluster : config.clusters) {
    metrics_options.clusters.push_back(cluster.name);
  }
  PrometheusMetrics metrics(metrics_options);
  HealthChecks health(RealClock::Get(), LivenessBound(config));
  ConditionCell database("not reached yet");
  Heartbeat elector_beat(RealClock::Get());
  health.AddCondition("config", [] { return ""; });  // loaded and valid, or we would not be here
  health.AddCondition("database", [&database] { return database.Problem(); });
  health.AddLoop("controller elector", [&elector_beat] { return elector_beat.Last(); });
  // Declared before the server, which reads them until it stops.
  std::unique_ptr<LeaseStorePool> pool;
  std::unique_ptr<LeaseRowCache> cache;
  std::unique_ptr<CachingLeaseStore> cluster_store;
  std::unique_ptr<LeaseRowFeed> feed;
  std::unique_ptr<PodWatcher> watcher;
  std::unique_ptr<ServiceWatcher> services;
  std::unique_ptr<PodViews> views;
  WorkScheduler loop_workers("cluster-loop", config.controller.workers);
  WorkScheduler probe_workers("probe", config.controller.probe_workers);
  std::vector<std::unique_ptr<ClusterLoop>> loops;
  auto server = ObservabilityServer::Start(config.metrics.address, &metrics, &health);
  if (!server.ok()) return Fatal("metrics: " + server.status().message());
  Log(LogLevel::kInfo, "metrics listening", {{"address", (*server)->address()}});

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
  // The database, whatever the number of clusters: the controllers' own row
  // on its own connection (every replica), and on the active replica only
  // the LISTEN connection (PostgreSQL) and a pool the clusters share. The
  // clusters read through a cache the feed keeps current.
  const bool listen = !UsesMysql(config);
  const int pool_size = config.database.max_connections - 1 - (listen ? 1 : 0);
  pool = std::make_unique<LeaseStorePool>(LeaseStoreFactory(config), pool_size);
  cache = std::make_unique<LeaseRowCache>(RealClock::Get());
  cluster_store =
      std::make_unique<CachingLeaseStore>(pool->Shared(), cache.get(), RealClock::Get());
  LeaseRowFeedOptions feed_options;
  std::vector<FeedCluster> feed_clusters;
  for (const ClusterConfig& cluster : config.clusters) {
    bool follow = cluster.mode == ClusterMode::kFollow;
    feed_clusters.push_back({cluster.name, follow});
    // Amoro writes its rows without NOTIFY: a follow-mode cluster is read
    // once per heartbeat (batched with the others).
    if (follow)
      feed_options.poll_interval = std::min(feed_options.poll_interval, cluster.heartbeat_interval);
  }
  // No NOTIFY on MySQL: every cluster is polled, all in one statement, so
  // that a gate's new AMS state is seen within a second.
  if (!listen) feed_options.poll_interval = std::chrono::seconds(1);
  std::map<std::string, ClusterLoop*> loop_by_cluster;  // filled before the feed starts
  feed = std::make_unique<LeaseRowFeed>(
      cache.get(), pool->Shared(), LeaseListenerFactory(config, listen), RealClock::Get(),
      feed_options, [&loop_by_cluster](const std::string& cluster) {
        auto it = loop_by_cluster.find(cluster);
        if (it != loop_by_cluster.end()) it->second->Wake();
      });
  feed->SetClusters(feed_clusters);
  // Every Service of the namespace, watched once for all clusters.
  services = std::make_unique<ServiceWatcher>(api->get());
  // One pod watch for every cluster, filtered locally into one view each.
  std::vector<LabelSelector> selectors;
  for (const ClusterConfig& cluster : config.clusters) {
    auto selector = LabelSelector::Parse(cluster.pod_selector);
    if (!selector.ok()) return Fatal("clusters: " + selector.status().message());
    selectors.push_back(*selector);
  }
  PodWatcher::Options watch_options;
  watch_options.label_selector = PodViews::CommonSelector(selectors);
  watcher = std::make_unique<PodWatcher>(api->get(), watch_options);
  views = std::make_unique<PodViews>(watcher.get());
  watcher->SetListener(
      [v = views.get()](const PodWatcher::Change& change) { v->Dispatch(change); });
  health.AddCondition("pod watch", [w = watcher.get()] {
    return w->Synced() ? "" : "not synced: " + w->LastError().ToString();
  });
  health.AddCondition("service watch", [s = services.get()] {
    return s->Synced() ? "" : "not synced: " + s->LastError().ToString();
  });
  services->SetListener([&loop_by_cluster, &config](const ServiceWatcher::Change& change) {
    // Someone else changed a managed Service: its loop checks it now.
    for (const ClusterConfig& cluster : config.clusters) {
      if (cluster.service != change.service.name) continue;
      auto it = loop_by_cluster.find(cluster.name);
      if (it != loop_by_cluster.end()) it->second->Wake();
    }
  });
  Log(LogLevel::kInfo, "watching pods",
      {{"selector", watch_options.label_selector.empty() ? "(every pod in the namespace)"
                                                         : watch_options.label_selector}});
  for (size_t i = 0; i < config.clusters.size(); ++i) {
    const ClusterConfig& cluster = config.clusters[i];
    const PodSource* view = views->AddView(selectors[i]);
    ClusterLoop::Deps deps;
    deps.store = cluster_store.get();
    deps.services = services.get();
    deps.api = api->get();
    deps.pods = view;
    deps.loops = &loop_workers;
    deps.probes = &probe_workers;
    deps.controller = &controller;
    deps.clock = RealClock::Get();
    deps.metrics = &metrics;
    deps.prober = &prober;
    auto loop = std::make_unique<ClusterLoop>(config, cluster, deps);
    ClusterLoop* l = loop.get();
    views->SetOnChange(view, [l] { l->Wake(); });
    health.AddLoop("cluster " + cluster.name, [l] { return l->LastPass(); });
    metrics.OnScrape([&metrics, view, name = cluster.name] {
      if (!view->Synced()) return;
      std::vector<Pod> pods = view->Snapshot();
      int ready = static_cast<int>(std::count_if(
          pods.begin(), pods.end(), [](const Pod& p) { return p.ready && !p.Terminating(); }));
      metrics.ClusterPods(name, static_cast<int>(pods.size()), ready);
    });
    loop_by_cluster[cluster.name] = loop.get();
    loops.push_back(std::move(loop));
  }

  // The controllers' own election: every retryPeriod, on its own thread.
  Cancellation stop;
  std::thread elector_thread([&] {
    bool was_active = false;
    do {
      elector_beat.Beat();
      ControllerStep step = controller.Step();
      // Every replica reports the database, so a standby's dashboard and
      // readiness are as true as the active one's.
      bool reachable = step.status.ok() || step.status.IsConflict();
      database.Set(reachable ? "" : step.status.ToString());
      metrics.DatabaseUp(reachable);
      if (step.status.IsUnavailable()) metrics.DatabaseError();
      bool active = controller.IsActive();
      if (active != was_active) {
        Log(LogLevel::kInfo,
            active ? "became the active controller" : "no longer active; standing by",
            {{"identity", config.controller.identity},
             {"active", active ? config.controller.identity : OtherActive(controller)}});
        if (active) {
          // The feed reads every cluster in a few batched statements before
          // the cache answers; until then the loops read through the pool.
          Status started = feed->Start();
          if (!started.ok()) {
            Log(LogLevel::kWarn, "lease feed not started; reading rows on every pass",
                {{"error", started.ToString()}});
          }
        } else {
          // A standby holds its own lease's connection only.
          feed->Stop();
          cache->InvalidateAll();
          pool->CloseIdle();
        }
        for (auto& loop : loops) loop->Wake();
      }
      if (!step.status.ok()) {
        Log(LogLevel::kWarn, "controller lease step failed", {{"error", step.status.ToString()}});
      }
      metrics.ControllerActive(config.controller.identity, active);
      // Degraded while not listening: the clusters read their rows on every
      // pass (the feed logs the outage once).
      metrics.LeaseListening(active && feed->Listening());
      was_active = active;
    } while (!stop.WaitFor(config.controller.retry_period));
  });

  loop_workers.Start();
  probe_workers.Start();
  for (auto& loop : loops) loop->Start();
  watcher->Start();
  services->Start();

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  Log(LogLevel::kInfo, "stopping", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});

  // Stop writing first, then give up the controller row (not the AMS
  // leases) so that the standby takes over at once.
  for (auto& loop : loops) loop->Stop();
  loop_workers.Stop();
  probe_workers.Stop();
  stop.Cancel();
  elector_thread.join();
  Status released = controller.Release();
  if (!released.ok()) {
    Log(LogLevel::kWarn,
        "could not release the controller lease; the standby takes over "
        "after leaseDuration",
        {{"error", released.ToString()}});
  }
  feed->Stop();
  watcher->Stop();
  services->Stop();
  (*server)->Stop();
  Log(LogLevel::kInfo, "stopped");
  return kExitOk;
}

}  // namespace amsha
