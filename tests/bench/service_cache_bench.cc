// service_cache_bench: what the Service watch cache saves. N AMS clusters
// (one leader Service and one pod each) in one namespace of the Kubernetes
// API stand-in (tests/standin, plain HTTP on loopback); the routing
// reconcilers of all N run one steady pass (nothing to change) without and
// with a shared ServiceWatcher, and the API requests they send are counted.
//
//   service_cache_bench [N...]   (default 1 10 100 1000)
//
// Columns:
//   requests/pass   API requests of one steady pass over all N clusters
//                   (without the cache: one GET per cluster; with it: 0)
//   pass ms         wall time of that pass over all N clusters
//   list ms         the ServiceWatcher's first list of the N Services
//   sync ms         start -> Synced()
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kube/kube_connection.h"
#include "kube/rest_kube_api.h"
#include "kube/service_watcher.h"
#include "routing/routing_reconciler.h"
#include "support/standin_process.h"

namespace amsha {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

class RequestCounter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
  }
  int Take() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = count_;
    count_ = 0;
    return n;
  }

 private:
  std::mutex mu_;
  int count_ = 0;
};

bool CreateCluster(const testing::StandinProcess& standin, int i) {
  std::string name = "c" + std::to_string(i);
  std::string body = R"({"apiVersion":"v1","kind":"Service","metadata":{"name":")" + name +
                     R"(-leader"},"spec":{"ports":[{"name":"rest","port":1630}]}})";
  testing::AdminResponse svc = testing::PlainHttp(
      standin.api_port(), "POST", "/api/v1/namespaces/" + standin.ns() + "/services", body,
      {"Authorization: Bearer " + standin.token(), "Content-Type: application/json"});
  testing::StandinPod pod;
  pod.name = name + "-0";
  pod.labels = {{"cluster", name}};
  pod.pod_ip = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  return svc.code == 201 && standin.CreatePod(pod).ok();
}

// One pass of every reconciler; returns the first error, if any.
Status Pass(std::vector<std::unique_ptr<RoutingReconciler>>& reconcilers,
            const std::map<std::string, std::vector<Pod>>& pods_by_cluster) {
  Status first;
  for (size_t i = 0; i < reconcilers.size(); ++i) {
    const std::vector<Pod>& pods = pods_by_cluster.at("c" + std::to_string(i));
    RoutingResult r = reconcilers[i]->Reconcile(&pods[0], "node", pods, "2026-01-01T00:00:00Z");
    if (!r.status.ok() && first.ok()) first = r.status;
  }
  return first;
}

std::map<std::string, std::vector<Pod>> PodsByCluster(KubeApi* api) {
  std::map<std::string, std::vector<Pod>> out;
  StatusOr<PodList> list = api->ListPods("cluster");
  if (!list.ok()) return out;
  for (const Pod& p : list->items) out[p.labels.at("cluster")].push_back(p);
  return out;
}

int Run(const std::vector<int>& sizes) {
  testing::StandinOptions options;
  options.tls = false;
  testing::StandinProcess standin(options);
  Status started = standin.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "kube-standin: %s\n", started.ToString().c_str());
    return 1;
  }
  StatusOr<KubeConnection> conn = LoadKubeconfig(standin.kubeconfig());
  if (!conn.ok()) {
    std::fprintf(stderr, "%s\n", conn.status().ToString().c_str());
    return 1;
  }
  RequestCounter counter;
  RestKubeApiOptions api_options;
  api_options.observer = [&counter](const std::string&, int, double) { counter.Add(); };
  auto api = RestKubeApi::Create(*conn, api_options);
  if (!api.ok()) {
    std::fprintf(stderr, "%s\n", api.status().ToString().c_str());
    return 1;
  }
  KubeApi* kube = api->get();

  std::printf("%6s  %22s  %22s  %8s  %8s\n", "N", "no cache: req/pass ms", "cache: req/pass ms",
              "list ms", "sync ms");
  int created = 0;
  for (int n : sizes) {
    auto setup = Clock::now();
    for (; created < n; ++created) {
      if (!CreateCluster(standin, created)) {
        std::fprintf(stderr, "cannot create cluster %d\n", created);
        return 1;
      }
    }
    std::vector<std::unique_ptr<RoutingReconciler>> plain;
    for (int i = 0; i < n; ++i) {
      ClusterConfig cluster;
      cluster.name = "c" + std::to_string(i);
      cluster.service = cluster.name + "-leader";
      plain.push_back(std::make_unique<RoutingReconciler>(cluster, LabelsConfig(), kube));
    }
    double create_ms = Ms(Clock::now() - setup);
    setup = Clock::now();
    Status routed = Pass(plain, PodsByCluster(kube));  // routes; labels the pods
    std::fprintf(stderr, "setup: %d clusters created in %.0f ms, first routing pass %.0f ms\n", n,
                 create_ms, Ms(Clock::now() - setup));
    if (!routed.ok()) {
      std::fprintf(stderr, "routing: %s\n", routed.ToString().c_str());
      return 1;
    }
    std::map<std::string, std::vector<Pod>> pods = PodsByCluster(kube);
    counter.Take();
    auto start = Clock::now();
    Pass(plain, pods);
    double plain_ms = Ms(Clock::now() - start);
    int plain_requests = counter.Take();

    auto list_start = Clock::now();
    Cancellation never;
    StatusOr<ServiceList> list = kube->ListServices(never);
    double list_ms = Ms(Clock::now() - list_start);
    if (!list.ok()) {
      std::fprintf(stderr, "list: %s\n", list.status().ToString().c_str());
      return 1;
    }
    ServiceWatcher watcher(kube);
    auto sync_start = Clock::now();
    watcher.Start();
    while (!watcher.Synced()) watcher.WaitForChange(0, std::chrono::milliseconds(50));
    double sync_ms = Ms(Clock::now() - sync_start);
    std::vector<std::unique_ptr<RoutingReconciler>> cached;
    for (int i = 0; i < n; ++i) {
      ClusterConfig cluster;
      cluster.name = "c" + std::to_string(i);
      cluster.service = cluster.name + "-leader";
      cached.push_back(
          std::make_unique<RoutingReconciler>(cluster, LabelsConfig(), kube, &watcher));
    }
    counter.Take();
    start = Clock::now();
    Status steady = Pass(cached, pods);
    double cached_ms = Ms(Clock::now() - start);
    int cached_requests = counter.Take();
    watcher.Stop();
    counter.Take();  // the watch and its end
    if (!steady.ok()) {
      std::fprintf(stderr, "cached pass: %s\n", steady.ToString().c_str());
      return 1;
    }
    std::printf("%6d  %10d %11.2f  %10d %11.2f  %8.2f  %8.2f\n", n, plain_requests, plain_ms,
                cached_requests, cached_ms, list_ms, sync_ms);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace amsha

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {1, 10, 100, 1000};
  return amsha::Run(sizes);
}
