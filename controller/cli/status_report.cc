#include "cli/status_report.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "common/json.h"
#include "election/pod_identity.h"

namespace amsha {
namespace {

std::string Seconds(int64_t ms) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << ms / 1000.0 << "s";
  return out.str();
}

// The pod a follow-mode lease names: the one pod whose IP is node_ip.
const Pod* PodWithIp(const std::vector<Pod>& pods, const std::string& ip) {
  const Pod* match = nullptr;
  for (const Pod& p : pods) {
    if (ip.empty() || p.pod_ip != ip) continue;
    if (match) return nullptr;  // several: nobody
    match = &p;
  }
  return match;
}

Json LeaseJson(const LeaseRecord& lease) {
  return Json::Object()
      .Set("nodeId", lease.node_id.value_or(""))
      .Set("nodeIp", lease.node_ip.value_or(""))
      .Set("version", lease.version)
      .Set("expiresInMs", lease.ExpiresInMs())
      .Set("expired", lease.Expired());
}

Json GateJson(const LeaseRecord& gate) {
  const std::string info = gate.server_info_json.value_or("");
  Json out = LeaseJson(gate);
  out.Set("pod", JsonStringMember(info, "pod"));
  const std::string ams = JsonStringMember(info, "ams");
  out.Set("ams", ams.empty() ? Json::Null() : Json(ams));
  return out;
}

std::string GateLine(const LeaseRecord& gate) {
  const std::string info = gate.server_info_json.value_or("");
  std::string pod = JsonStringMember(info, "pod");
  std::string ams = JsonStringMember(info, "ams");
  std::string line = "  gate: " + (gate.node_id ? *gate.node_id : std::string("none"));
  if (!pod.empty()) line += " (pod " + pod + (ams.empty() ? "" : ", AMS " + ams) + ")";
  if (gate.node_id) {
    line += gate.Expired() ? "  EXPIRED" : "  expires in " + Seconds(gate.ExpiresInMs());
  }
  return line + "  (database clock)\n";
}

}  // namespace

void ResolvePods(const std::vector<Pod>& pods, const std::vector<std::string>& routed,
                 ClusterStatus* s) {
  s->routed = routed;
  s->leader_pod.clear();
  const Pod* holder = nullptr;
  if (s->lease && s->lease->node_id && !s->lease->Expired()) {
    if (s->mode == ClusterMode::kFollow) {
      holder = PodWithIp(pods, s->lease->node_ip.value_or(""));
    } else {
      const std::string uid = UidFromNodeId(*s->lease->node_id);
      for (const Pod& p : pods) {
        if (!uid.empty() && p.uid == uid) holder = &p;
      }
    }
  }
  if (holder) s->leader_pod = holder->name;
  s->pods.clear();
  for (const Pod& p : pods) {
    PodLine line;
    line.name = p.name;
    line.ip = p.pod_ip.empty() ? "-" : p.pod_ip;
    line.role = &p == holder ? "Leader" : "Follower";
    line.ready = p.Terminating() ? "Terminating" : (p.ready ? "Ready" : "NotReady");
    line.routed = std::find(routed.begin(), routed.end(), p.name) != routed.end();
    s->pods.push_back(line);
  }
}

StatusVerdict JudgeCluster(const ClusterStatus& c) {
  if (!c.lease_error.empty()) {
    return {kStatusUnknown, "cannot read the lease: " + c.lease_error};
  }
  if (!c.lease || !c.lease->node_id || c.lease->Expired()) {
    return {kStatusNoLeader, c.lease && c.lease->node_id
                                 ? "the lease of " + *c.lease->node_id + " has expired"
                                 : "nobody holds the lease"};
  }
  if (!c.kube_error.empty()) {
    return {kStatusUnknown, "cannot check the routing: " + c.kube_error};
  }
  if (c.routed.empty()) {
    return {kStatusNothingRouted,
            "Service " + c.service + " selects no pod" +
                (c.leader_pod.empty()
                     ? " (the lease holder " + *c.lease->node_id + " is none of the cluster's pods)"
                     : " (the leader is " + c.leader_pod + ")")};
  }
  if (c.routed.size() > 1) {
    std::string names;
    for (const std::string& r : c.routed) names += (names.empty() ? "" : ", ") + r;
    return {kStatusRoutedNotHolder, "Service " + c.service + " selects " +
                                        std::to_string(c.routed.size()) + " pods (" + names +
                                        "); only the lease holder may be selected"};
  }
  if (c.leader_pod.empty() || c.routed[0] != c.leader_pod) {
    return {kStatusRoutedNotHolder,
            "Service " + c.service + " selects " + c.routed[0] + ", but the lease is held by " +
                (c.leader_pod.empty() ? *c.lease->node_id + " (none of the cluster's pods)"
                                      : c.leader_pod)};
  }
  return {};
}

int StatusExitCode(const std::vector<ClusterStatus>& clusters) {
  int code = kStatusHealthy;
  for (const ClusterStatus& c : clusters) {
    int one = JudgeCluster(c).code;
    if (one != kStatusHealthy && (code == kStatusHealthy || one < code)) code = one;
  }
  return code;
}

std::string StatusJson(const std::optional<LeaseRecord>& controller_row,
                       const std::vector<ClusterStatus>& clusters) {
  Json out = Json::Object();
  if (controller_row && !controller_row->Expired()) {
    out.Set("activeController", Json::Object()
                                    .Set("identity", controller_row->node_id.value_or(""))
                                    .Set("expiresInMs", controller_row->ExpiresInMs()));
  } else {
    out.Set("activeController", Json::Null());
  }
  Json list = Json::Array();
  for (const ClusterStatus& c : clusters) {
    Json cluster = Json::Object();
    cluster.Set("name", c.name)
        .Set("service", c.service)
        .Set("mode", ClusterModeName(c.mode))
        .Set("leader", c.leader_pod.empty() ? Json::Null() : Json(c.leader_pod))
        .Set("lease", c.lease ? LeaseJson(*c.lease) : Json::Null());
    if (c.mode == ClusterMode::kManage) {
      cluster.Set("gate", c.gate && c.gate->node_id ? GateJson(*c.gate) : Json::Null());
    }
    Json routed = Json::Array();
    for (const std::string& r : c.routed) routed.Push(r);
    cluster.Set("routedPods", routed);
    Json pods = Json::Array();
    for (const PodLine& p : c.pods) {
      pods.Push(Json::Object()
                    .Set("name", p.name)
                    .Set("ip", p.ip)
                    .Set("role", p.role)
                    .Set("state", p.ready)
                    .Set("routed", p.routed));
    }
    cluster.Set("pods", pods);
    StatusVerdict verdict = JudgeCluster(c);
    cluster.Set("healthy", verdict.code == kStatusHealthy);
    if (verdict.code != kStatusHealthy) {
      cluster.Set("problem", verdict.problem).Set("exitCode", verdict.code);
    }
    if (!c.lease_error.empty()) cluster.Set("databaseError", c.lease_error);
    if (!c.gate_error.empty()) cluster.Set("gateError", c.gate_error);
    if (!c.kube_error.empty()) cluster.Set("kubernetesError", c.kube_error);
    list.Push(cluster);
  }
  out.Set("clusters", list);
  out.Set("exitCode", StatusExitCode(clusters));
  return out.Serialize();
}

std::string StatusText(const std::optional<LeaseRecord>& controller_row,
                       const std::vector<ClusterStatus>& clusters) {
  std::ostringstream out;
  if (controller_row && !controller_row->Expired()) {
    out << "Active controller: " << controller_row->node_id.value_or("?") << " (lease expires in "
        << Seconds(controller_row->ExpiresInMs()) << ")\n";
  } else {
    out << "Active controller: NONE (no replica holds the controller lease)\n";
  }
  for (const ClusterStatus& c : clusters) {
    out << "\nCluster " << c.name << "  (Service " << c.service << ", mode "
        << ClusterModeName(c.mode) << ")\n";
    if (!c.lease_error.empty()) out << "  database: " << c.lease_error << "\n";
    if (c.lease && c.lease->node_id) {
      out << "  lease: " << *c.lease->node_id << "  version " << c.lease->version
          << (c.lease->Expired() ? "  EXPIRED" : "  expires in " + Seconds(c.lease->ExpiresInMs()))
          << "  (database clock)\n";
    } else if (c.lease_error.empty()) {
      out << "  lease: none\n";
    }
    if (c.mode == ClusterMode::kManage) {
      if (!c.gate_error.empty()) {
        out << "  gate: cannot read: " << c.gate_error << "\n";
      } else if (c.gate && c.gate->node_id) {
        out << GateLine(*c.gate);
      } else {
        out << "  gate: none (no gate row)\n";
      }
    }
    if (!c.kube_error.empty()) {
      out << "  kubernetes: " << c.kube_error << "\n";
    } else {
      out << "  " << std::left << std::setw(34) << "POD" << std::setw(18) << "IP" << std::setw(10)
          << "ROLE" << std::setw(13) << "STATE"
          << "ROUTED\n";
      for (const PodLine& p : c.pods) {
        out << "  " << std::left << std::setw(34) << p.name << std::setw(18) << p.ip
            << std::setw(10) << p.role << std::setw(13) << p.ready << (p.routed ? "yes" : "")
            << "\n";
      }
    }
    StatusVerdict verdict = JudgeCluster(c);
    if (verdict.code != kStatusHealthy) {
      out << "  PROBLEM (exit " << verdict.code << "): " << verdict.problem << "\n";
    }
  }
  return out.str();
}

}  // namespace amsha
