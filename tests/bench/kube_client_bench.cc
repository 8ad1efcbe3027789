// kube_client_bench: how fast RestKubeApi and PodWatcher see the Kubernetes
// API stand-in (tests/standin) over HTTPS on loopback.
//
//   kube_client_bench [ROUNDS]   (default 200)
//
// Figures:
//   list      ListPods("app=ams") of 50 pods (of 100), pooled connection
//   patch     PatchPodLabels (merge patch) round trip
//   notify    admin readiness flip -> PodWatcher listener, i.e. the delay a
//             controller adds on top of the API server's own
//   relist    a change during a pause + compaction + cut watch -> the watcher
//             shows the change (after a back-off, a 410 and a relist)
//   stop      PodWatcher::Stop() with an open, idle watch
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "kube/kube_connection.h"
#include "kube/pod_watcher.h"
#include "kube/rest_kube_api.h"
#include "support/standin_process.h"

namespace amsha {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Report(const char* name, std::vector<double> ms) {
  if (ms.empty()) {
    std::printf("%-8s no samples\n", name);
    return;
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[static_cast<size_t>(q * (ms.size() - 1))]; };
  std::printf("%-8s n=%-4zu p50=%7.2f ms  p90=%7.2f ms  p99=%7.2f ms  max=%7.2f ms\n", name,
              ms.size(), at(0.5), at(0.9), at(0.99), ms.back());
}

int Run(int rounds) {
  testing::StandinProcess standin;
  Status started = standin.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "kube-standin: %s\n", started.ToString().c_str());
    return 1;
  }
  for (int i = 0; i < 100; ++i) {
    testing::StandinPod pod;
    pod.name = "pod-" + std::to_string(i);
    pod.labels = {{"app", i % 2 ? "ams" : "web"}};
    standin.CreatePod(pod);
  }
  StatusOr<KubeConnection> conn = LoadKubeconfig(standin.kubeconfig());
  if (!conn.ok()) {
    std::fprintf(stderr, "%s\n", conn.status().ToString().c_str());
    return 1;
  }
  auto api = RestKubeApi::Create(*conn);
  if (!api.ok()) {
    std::fprintf(stderr, "%s\n", api.status().ToString().c_str());
    return 1;
  }
  KubeApi* kube = api->get();

  std::vector<double> list_ms;
  for (int i = 0; i < rounds; ++i) {
    auto start = Clock::now();
    StatusOr<PodList> list = kube->ListPods("app=ams");
    if (!list.ok() || list->items.size() != 50) {
      std::fprintf(stderr, "list: %s\n", list.status().ToString().c_str());
      return 1;
    }
    list_ms.push_back(Ms(Clock::now() - start));
  }

  std::vector<double> patch_ms;
  for (int i = 0; i < rounds; ++i) {
    auto start = Clock::now();
    StatusOr<Pod> pod = kube->PatchPodLabels("pod-1", {{"round", std::to_string(i)}});
    if (!pod.ok()) {
      std::fprintf(stderr, "patch: %s\n", pod.status().ToString().c_str());
      return 1;
    }
    patch_ms.push_back(Ms(Clock::now() - start));
  }

  // The listener records when each readiness change of pod-1 arrives.
  std::mutex mu;
  std::condition_variable cv;
  int seen_changes = 0;
  PodWatcher::Options options;
  options.label_selector = "app=ams";
  PodWatcher watcher(kube, options);
  watcher.SetListener([&](const PodWatcher::Change& c) {
    if (c.pod.name != "pod-1") return;
    std::lock_guard<std::mutex> lock(mu);
    ++seen_changes;
    cv.notify_all();
  });
  watcher.Start();
  while (!watcher.Synced()) watcher.WaitForChange(watcher.Generation(), milliseconds(100));
  {
    std::lock_guard<std::mutex> lock(mu);
    seen_changes = 0;
  }

  auto wait_for = [&](int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen_changes >= n; });
  };
  std::vector<double> notify_ms;
  for (int i = 0; i < rounds; ++i) {
    auto start = Clock::now();
    standin.SetReady("pod-1", i % 2 == 1);
    if (!wait_for(i + 1)) {
      std::fprintf(stderr, "notify: change %d never arrived\n", i);
      return 1;
    }
    notify_ms.push_back(Ms(Clock::now() - start));
  }

  // Until the watcher shows the change it missed; usually through a relist
  // (the resume point is gone), unless the change slipped out before the
  // pause took hold.
  std::vector<double> relist_ms;
  int relisted_rounds = 0;
  for (int i = 0; i < 20; ++i) {
    int relists = watcher.stats().relists;
    bool want = i % 2 == 0;
    auto start = Clock::now();
    standin.Pause(5);  // the change below stays undelivered
    standin.SetReady("pod-3", want);
    standin.Compact();
    standin.CutWatches();
    standin.Pause(0);
    std::optional<Pod> pod3 = watcher.Get("pod-3");
    while (!(pod3 && pod3->ready == want) && Clock::now() - start < std::chrono::seconds(10)) {
      watcher.WaitForChange(watcher.Generation(), milliseconds(20));
      pod3 = watcher.Get("pod-3");
    }
    relist_ms.push_back(Ms(Clock::now() - start));
    relisted_rounds += watcher.stats().relists > relists;
  }

  auto stop_start = Clock::now();
  watcher.Stop();
  double stop_ms = Ms(Clock::now() - stop_start);

  std::printf("kube_client_bench: kube-standin over HTTPS on loopback, %d rounds\n", rounds);
  Report("list", list_ms);
  Report("patch", patch_ms);
  Report("notify", notify_ms);
  Report("relist", relist_ms);
  Report("stop", {stop_ms});
  PodWatcher::Stats stats = watcher.stats();
  std::printf("relist rounds that relisted: %d of %zu\n", relisted_rounds, relist_ms.size());
  std::printf("watcher: lists=%d relists=%d watches=%d errors=%d\n", stats.lists, stats.relists,
              stats.watches, stats.errors);
  return 0;
}

}  // namespace
}  // namespace amsha

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  return amsha::Run(rounds > 0 ? rounds : 200);
}
