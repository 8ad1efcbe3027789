// Forwarder: the stand-in's tiny kube-proxy. For every Service port it
// listens on 127.0.0.1:<localPort> and forwards each TCP connection, chosen
// at connection time, to a pod the Service's selector matches (Store::
// PickBackend: pod IP and numeric or named targetPort). With no such pod the
// connection is closed at once. Established connections are left alone when
// the selector moves, as with kube-proxy's conntrack entries.
// Callers: main.cc wires Reconcile() to Store::OnServicesChanged; the admin
// handler lists the forwards. Thread-safe; one thread per listener and one
// per forwarded connection.
#ifndef AMS_HA_TESTS_STANDIN_FORWARDER_H_
#define AMS_HA_TESTS_STANDIN_FORWARDER_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "standin/store.h"

namespace amsha::standin {

struct ForwardInfo {
  std::string ns;
  std::string service;
  int port = 0;
  Json target_port;
  int local_port = 0;
};

class Forwarder {
 public:
  explicit Forwarder(Store* store) : store_(store) {}
  ~Forwarder();

  // Opens listeners for new Service ports and closes those of removed ones.
  void Reconcile();
  std::vector<ForwardInfo> Forwards();

 private:
  struct Listener;
  using Key = std::tuple<std::string, std::string, int>;  // ns, service, port

  Store* store_;
  std::mutex mu_;
  std::map<Key, std::shared_ptr<Listener>> listeners_;
};

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_FORWARDER_H_
