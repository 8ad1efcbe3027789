// ClusterLoopHarness: one ClusterLoop wired to fakes (FakeClock,
// FakeLeaseStore, FakeKubeApi with the `ams-leader` Service, a PodWatcher
// over it, a RecordingMetricsSink), for the ClusterLoop unit tests of both
// modes. Tests add pods to `api`, then call Pass() to bring the watcher's
// cache up to date and run one loop pass.
#ifndef AMS_HA_TESTS_SUPPORT_CLUSTER_LOOP_HARNESS_H_
#define AMS_HA_TESTS_SUPPORT_CLUSTER_LOOP_HARNESS_H_

#include <memory>
#include <string>
#include <vector>

#include "election/cluster_loop.h"
#include "routing/desired_state.h"
#include "support/fake_kube_api.h"
#include "support/fake_lease_store.h"
#include "support/recording_metrics_sink.h"

namespace amsha::testing {

class ClusterLoopHarness {
 public:
  ClusterLoopHarness(ClusterConfig cluster, Prober* prober) : store(&clock), api("ams") {
    config.controller.identity = "ctl-0";
    config.clusters.push_back(std::move(cluster));
    Service svc;
    svc.name = "ams-leader";
    api.PutService(svc);
    controller = std::make_unique<ControllerElector>(config.controller, &store, &clock);
    PodWatcher::Options options;
    options.label_selector = config.clusters[0].pod_selector;
    watcher = std::make_unique<PodWatcher>(&api, options, &clock);
    ClusterLoop::Deps deps;
    deps.store = &store;
    deps.api = &api;
    pod_source = std::make_unique<WatcherPodSource>(watcher.get());
    deps.pods = pod_source.get();
    deps.controller = controller.get();
    deps.clock = &clock;
    deps.metrics = &metrics;
    deps.prober = prober;
    loop = std::make_unique<ClusterLoop>(config, config.clusters[0], deps);
  }

  // Brings the watcher's cache up to date with the fake API.
  void SyncPods() {
    Cancellation never;
    if (watcher->Synced()) api.ScriptWatchEnd(Status::Ok());
    watcher->Step(never);
  }
  void Pass() {
    SyncPods();
    loop->RunOnce();
  }
  // The pods the Service selects in the fake API right now.
  std::vector<std::string> Selected() const {
    return SelectedPods(api.FindService("ams-leader")->selector, api.Pods());
  }

  FakeClock clock;
  FakeLeaseStore store;
  FakeKubeApi api;
  Config config;
  RecordingMetricsSink metrics;
  std::unique_ptr<ControllerElector> controller;
  std::unique_ptr<PodWatcher> watcher;
  std::unique_ptr<WatcherPodSource> pod_source;
  std::unique_ptr<ClusterLoop> loop;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_CLUSTER_LOOP_HARNESS_H_
