// Prober: "does this AMS accept TCP connections on its REST port?"
//
// TcpProber connects with a timeout and closes at once (like a kubelet
// tcpSocket probe). The cluster loop probes only the current leader; the
// results feed HealthTracker. Thread-safe.
#ifndef AMS_HA_ELECTION_PROBER_H_
#define AMS_HA_ELECTION_PROBER_H_

#include <chrono>
#include <string>

namespace amsha {

class Prober {
 public:
  virtual ~Prober() = default;
  virtual bool Probe(const std::string& ip, int port, std::chrono::milliseconds timeout) = 0;
};

class TcpProber : public Prober {
 public:
  bool Probe(const std::string& ip, int port, std::chrono::milliseconds timeout) override;
};

}  // namespace amsha

#endif  // AMS_HA_ELECTION_PROBER_H_
