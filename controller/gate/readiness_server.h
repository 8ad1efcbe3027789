// ReadinessServer: the gate's own /readyz and /healthz, a few lines of plain
// HTTP on the pod IP, for the kubelet's httpGet probes.
//
// A follower pod runs no AMS, so its readiness cannot come from AMS: the
// gate answers for the pod instead (docs/gate.md, "Readiness"). The answer
// itself comes from a callback (GateLoop::Health()); this class only speaks
// HTTP: 200 with the text when the callback says yes, 503 when it says no,
// 404 for any other path. One connection at a time, each bounded by a 1 s
// read timeout: probes are tiny and rare.
// Thread safety: the callback runs on the server's thread.
#ifndef AMS_HA_GATE_READINESS_SERVER_H_
#define AMS_HA_GATE_READINESS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace amsha {

class ReadinessServer {
 public:
  struct Answer {
    bool ok = false;
    std::string text;
  };
  // Called with "/readyz" or "/healthz".
  using Handler = std::function<Answer(const std::string& path)>;

  // Listens on ip:port (port 0: any free one) and serves on a thread.
  // kUnavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<ReadinessServer>> Start(const std::string& ip, int port,
                                                          Handler handler);
  ~ReadinessServer();

  ReadinessServer(const ReadinessServer&) = delete;
  ReadinessServer& operator=(const ReadinessServer&) = delete;

  int port() const { return port_; }

 private:
  ReadinessServer(int listen_fd, int port, Handler handler);
  void Serve();
  void Respond(int fd);

  int listen_fd_;
  int port_;
  Handler handler_;
  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;  // last: starts after the fields it reads
};

}  // namespace amsha

#endif  // AMS_HA_GATE_READINESS_SERVER_H_
