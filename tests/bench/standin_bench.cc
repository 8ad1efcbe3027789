// Figures for the Kubernetes API stand-in: how long a label PATCH takes and
// how soon a watch sees it, and how long a list of 100 pods takes, over plain
// HTTP on loopback with a new connection per request. Prints the figures;
// not a test. Usage: standin_bench [iterations]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/standin_process.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Print(const char* what, std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) { return samples[static_cast<size_t>(q * (samples.size() - 1))]; };
  std::printf("%-34s n=%-5zu p50=%7.3f ms  p90=%7.3f ms  p99=%7.3f ms  max=%7.3f ms\n", what,
              samples.size(), at(0.5), at(0.9), at(0.99), samples.back());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace amsha::testing;
  int iterations = argc > 1 ? std::atoi(argv[1]) : 300;
  StandinOptions options;
  options.tls = false;
  options.token = "bench";
  StandinProcess standin(options);
  amsha::Status s = standin.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "standin_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  for (int i = 0; i < 100; ++i) {
    StandinPod pod;
    pod.name = "ams-" + std::to_string(i);
    pod.labels = {{"app", "ams"}};
    standin.CreatePod(pod);
  }
  const std::vector<std::string> auth = {"Authorization: Bearer bench"};
  const std::string pods = "/api/v1/namespaces/default/pods";
  PlainStream watch;
  if (!watch.Open(standin.api_port(),
                  pods + "?watch=1&resourceVersion=100&fieldSelector=" + "metadata.name%3Dams-0",
                  auth)) {
    std::fprintf(stderr, "standin_bench: watch failed\n");
    return 1;
  }
  std::vector<double> patch_ms, watch_ms, list_ms;
  for (int i = 0; i < iterations; ++i) {
    auto start = Clock::now();
    AdminResponse r = PlainHttp(standin.api_port(), "PATCH", pods + "/ams-0",
                                R"({"metadata":{"labels":{"i":")" + std::to_string(i) + R"("}}})",
                                {auth[0], "Content-Type: application/merge-patch+json"});
    auto patched = Clock::now();
    auto line = watch.NextLine(5000);
    auto seen = Clock::now();
    if (r.code != 200 || !line) {
      std::fprintf(stderr, "standin_bench: patch %d failed (%d)\n", i, r.code);
      return 1;
    }
    patch_ms.push_back(Ms(patched - start));
    watch_ms.push_back(Ms(seen - start));
  }
  for (int i = 0; i < iterations / 3 + 1; ++i) {
    auto start = Clock::now();
    AdminResponse r =
        PlainHttp(standin.api_port(), "GET", pods + "?labelSelector=app%3Dams", "", auth);
    if (r.code != 200) return 1;
    list_ms.push_back(Ms(Clock::now() - start));
  }
  Print("PATCH labels (connect+answer)", patch_ms);
  Print("PATCH sent -> watch event read", watch_ms);
  Print("LIST 100 pods by label", list_ms);
  return 0;
}
