// `gate`: the wrapper of the AMS command in each AMS pod (docs/gate.md).
// Wiring only: configuration, identity, backends, signals, readiness.
//
//   ams-ha-controller gate --config FILE --cluster NAME -- AMS-COMMAND [ARGS...]
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/backends.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "common/logging.h"
#include "election/prober.h"
#include "gate/gate_loop.h"
#include "gate/readiness_server.h"

namespace amsha {
namespace {

int Usage(const std::string& message) {
  std::cerr << "gate: " << message << "\n";
  return kExitUsage;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int RunGate(const ParsedFlags& flags) {
  // Before any thread exists, so that every thread inherits the mask and
  // only the signal thread below receives these.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGCHLD, SIGUSR1}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Config config;
  if (!LoadConfigOrExplain(flags, &config)) return kExitUsage;
  const std::string name = flags.Get("cluster");
  if (name.empty()) return Usage("--cluster NAME is required");
  auto cluster = std::find_if(config.clusters.begin(), config.clusters.end(),
                              [&](const ClusterConfig& c) { return c.name == name; });
  if (cluster == config.clusters.end()) {
    return Usage("cluster \"" + name + "\" is not in " + config.file);
  }
  if (cluster->mode == ClusterMode::kFollow) {
    return Usage("cluster \"" + name +
                 "\" is in follow mode: AMS elects itself there (ha.type: database); run AMS "
                 "without the gate");
  }
  if (flags.rest.empty()) return Usage("give the AMS command after --");
  auto command = ResolveExecutable(flags.rest[0]);
  if (!command.ok()) return Usage(command.status().message());

  GateIdentity me{Env("POD_NAME"), Env("POD_UID"), Env("POD_IP")};
  std::string missing;
  for (auto [var, value] : {std::pair<const char*, const std::string*>{"POD_NAME", &me.pod_name},
                            {"POD_UID", &me.pod_uid},
                            {"POD_IP", &me.pod_ip}}) {
    if (value->empty()) missing += std::string(missing.empty() ? "" : ", ") + var;
  }
  if (!missing.empty()) {
    return Usage(missing +
                 " not set: pass metadata.name, metadata.uid and status.podIP through the "
                 "downward API");
  }

  // The fence process is forked while this process still has one thread
  // (the store and the notifier start threads): it runs only
  // async-signal-safe code, but a fork copies the state of every lock. It
  // inherits the blocked signals: a SIGTERM to the gate's group leaves it
  // enforcing while AMS stops.
  auto fence = FenceProcess::Start();
  if (!fence.ok()) {
    Log(LogLevel::kError, fence.status().message());
    return kExitFailure;
  }
  auto store = OpenLeaseStore(config);
  if (!store.ok()) {
    Log(LogLevel::kError, "database: " + store.status().message());
    return kExitFailure;
  }
  auto opened = OpenLeaseNotifier(config, name);
  if (!opened.ok()) {
    Log(LogLevel::kError, "database: " + opened.status().message());
    return kExitFailure;
  }
  std::unique_ptr<LeaseChangeNotifier> notifier = std::move(opened).value();
  AmsProcess ams(flags.rest);
  Fence* fence_ptr = fence->get();
  ams.SetBeforeReap([fence_ptr] { fence_ptr->Disarm(); });
  GateLoop::Deps deps;
  deps.store = store->get();
  deps.notifier = notifier.get();
  deps.ams = &ams;
  deps.fence = fence_ptr;
  // CLOCK_BOOTTIME, as the fence's: a suspend counts as time passed.
  deps.clock = BootClock::Get();
  // As the controller's own /healthz: a pass may wait for a few database
  // calls (each bounded by the timeouts, +1 s of watchdog) during an outage.
  const std::chrono::milliseconds call = config.database.connect_timeout +
                                         config.database.statement_timeout +
                                         std::chrono::milliseconds(1000);
  deps.health_bound = std::max<std::chrono::milliseconds>(std::chrono::seconds(60),
                                                          4 * call + config.gate.poll_interval);
  // The local probe of AMS's REST port, for the gate row's "ams" state.
  TcpProber prober;
  const std::chrono::milliseconds probe_timeout =
      std::min<std::chrono::milliseconds>(cluster->probe.timeout, std::chrono::milliseconds(500));
  const int rest_port = cluster->ports.rest;
  deps.probe_ams = [&prober, ip = me.pod_ip, rest_port, probe_timeout] {
    return prober.Probe(ip, rest_port, probe_timeout);
  };
  GateLoop loop(me, *cluster, config.gate, deps);

  std::unique_ptr<ReadinessServer> readiness;
  if (config.gate.readiness_port != 0) {
    auto server =
        ReadinessServer::Start(me.pod_ip, config.gate.readiness_port,
                               [&loop](const std::string& path) { return loop.Health(path); });
    if (!server.ok()) {
      Log(LogLevel::kError, server.status().message());
      return kExitFailure;
    }
    readiness = std::move(server).value();
  }

  Log(LogLevel::kInfo, "gate starting",
      {{"version", AMS_HA_VERSION},
       {"cluster", name},
       {"pod", me.pod_name},
       {"node_id", me.pod_ip + ":" + std::to_string(cluster->ports.optimizing) + ":" + me.pod_uid},
       {"command", command.value()},
       {"readiness", config.gate.readiness_port == 0
                         ? "off"
                         : me.pod_ip + ":" + std::to_string(readiness->port())},
       {"notify", UsesMysql(config)    ? "off (MySQL has no LISTEN; polling only)"
                  : config.gate.listen ? "listen"
                                       : "off (polling only)"},
       {"fence_pid", std::to_string((*fence)->pid())}});

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    while (true) {
      int signal = 0;
      if (sigwait(&signals, &signal) != 0) continue;
      if (done) return;
      if (signal == SIGCHLD) {
        loop.Wake();
      } else if (signal == SIGTERM || signal == SIGINT) {
        loop.RequestStop(signal);
      }
    }
  });

  int code = loop.Run();
  done = true;
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  return code;
}

}  // namespace amsha
