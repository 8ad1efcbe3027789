// kube-standin: a stand-in for the Kubernetes API server, for tests. See
// README.md for flags, the API subset, the admin API and the ready line.
// Wiring only: flags, files (certificates, token, kubeconfig), servers,
// signals.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "standin/admin_handler.h"
#include "standin/api_handler.h"
#include "standin/cert_gen.h"
#include "standin/controls.h"
#include "standin/forwarder.h"
#include "standin/http_server.h"
#include "standin/request_log.h"
#include "standin/store.h"

namespace amsha::standin {
namespace {

struct Flags {
  int port = 0;
  int admin_port = 0;
  bool tls = false;
  std::string dir;
  std::string ns = "default";
  std::string token;
  int watch_timeout_seconds = 300;
  int event_window = 1000;
  std::string pod_ip_base = "127.0.0.2";
  std::string kubeconfig_out;
};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "kube-standin: " << message << std::endl;
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto next = [&]() -> std::string {
      if (eq != std::string::npos) return value;
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    auto number = [&]() {
      std::string v = next();
      try {
        return std::stoi(v);
      } catch (const std::exception&) {
        Die(arg + ": not a number: " + v);
      }
    };
    if (arg == "--port") {
      f.port = number();
    } else if (arg == "--admin-port") {
      f.admin_port = number();
    } else if (arg == "--tls") {
      f.tls = true;
    } else if (arg == "--dir") {
      f.dir = next();
    } else if (arg == "--namespace") {
      f.ns = next();
    } else if (arg == "--token") {
      f.token = next();
    } else if (arg == "--watch-timeout-seconds") {
      f.watch_timeout_seconds = number();
    } else if (arg == "--event-window") {
      f.event_window = number();
    } else if (arg == "--pod-ip-base") {
      f.pod_ip_base = next();
    } else if (arg == "--kubeconfig-out") {
      f.kubeconfig_out = next();
    } else {
      Die("unknown flag " + arg + " (see tests/standin/README.md)");
    }
  }
  if (f.event_window < 1) Die("--event-window must be at least 1");
  if (f.watch_timeout_seconds < 1) Die("--watch-timeout-seconds must be at least 1");
  return f;
}

// Writes atomically, so a client re-reading the file never sees half of it.
void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out) Die("cannot write " + tmp);
  }
  chmod(tmp.c_str(), mode);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) Die("cannot write " + path);
}

std::string Kubeconfig(const Flags& f, const std::string& server, const std::string& token) {
  std::string out =
      "apiVersion: v1\n"
      "kind: Config\n"
      "clusters:\n"
      "- name: standin\n"
      "  cluster:\n"
      "    server: " +
      server + "\n";
  if (f.tls) out += "    certificate-authority: " + f.dir + "/ca.crt\n";
  out +=
      "users:\n"
      "- name: standin\n"
      "  user:\n"
      "    token: " +
      token + "\n    tokenFile: " + f.dir +
      "/token\n"
      "contexts:\n"
      "- name: standin\n"
      "  context:\n"
      "    cluster: standin\n"
      "    user: standin\n"
      "    namespace: " +
      f.ns +
      "\n"
      "current-context: standin\n";
  return out;
}

int Run(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (flags.dir.empty()) {
    char tmpl[] = "/tmp/kube-standin-XXXXXX";
    if (!mkdtemp(tmpl)) Die("cannot create a temporary directory");
    flags.dir = tmpl;
  } else if (mkdir(flags.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    Die("cannot create --dir " + flags.dir);
  }
  if (flags.token.empty()) flags.token = RandomSuffix(32);
  if (flags.kubeconfig_out.empty()) flags.kubeconfig_out = flags.dir + "/kubeconfig";

  std::unique_ptr<TlsCredentials> tls;
  if (flags.tls) {
    auto certs = GenerateCerts();
    if (!certs.ok()) Die(certs.status().ToString());
    WriteFile(flags.dir + "/ca.crt", certs->ca_cert_pem);
    WriteFile(flags.dir + "/server.crt", certs->server_cert_pem);
    WriteFile(flags.dir + "/server.key", certs->server_key_pem, 0600);
    tls = std::make_unique<TlsCredentials>();
    tls->cert_chain_pem = certs->server_cert_pem + certs->ca_cert_pem;
    tls->key_pem = certs->server_key_pem;
  }
  WriteFile(flags.dir + "/token", flags.token, 0600);

  auto* store = new Store(static_cast<size_t>(flags.event_window));
  auto* controls = new Controls(flags.token);
  auto* log = new RequestLog();
  auto* forwarder = new Forwarder(store);
  store->OnServicesChanged([forwarder] { forwarder->Reconcile(); });
  auto* api =
      new ApiHandler(store, controls, log, std::chrono::seconds(flags.watch_timeout_seconds));
  auto* api_server = new HttpServer([api](const HttpRequest& r) { return api->Handle(r); },
                                    tls.get(), [controls] { controls->WaitWhilePaused(); });
  std::string error;
  if (!api_server->Start(flags.port, &error)) Die(error);
  std::string scheme = flags.tls ? "https" : "http";
  std::string address = "127.0.0.1:" + std::to_string(api_server->port());
  std::string server = scheme + "://" + address;
  api->SetServerAddress(address);

  AdminOptions admin_options;
  admin_options.default_namespace = flags.ns;
  admin_options.pod_ip_base = flags.pod_ip_base;
  admin_options.on_token_rotated = [flags, server](const std::string& token) {
    WriteFile(flags.dir + "/token", token, 0600);
    WriteFile(flags.kubeconfig_out, Kubeconfig(flags, server, token), 0600);
  };
  auto* admin = new AdminHandler(store, controls, log, forwarder, admin_options);
  auto* admin_server =
      new HttpServer([admin](const HttpRequest& r) { return admin->Handle(r); }, nullptr);
  if (!admin_server->Start(flags.admin_port, &error)) Die(error);

  WriteFile(flags.kubeconfig_out, Kubeconfig(flags, server, flags.token), 0600);
  std::cout << "ready api=" << server << " admin=http://127.0.0.1:" << admin_server->port()
            << " kubeconfig=" << flags.kubeconfig_out << " token=" << flags.token << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  // Open connections and their threads die with the process: a stand-in
  // needs no orderly shutdown, only a quick exit 0.
  std::cout.flush();
  std::_Exit(0);
}

}  // namespace
}  // namespace amsha::standin

int main(int argc, char** argv) { return amsha::standin::Run(argc, argv); }
