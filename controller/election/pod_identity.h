// How a pod is named in the lease and in labels.
//
//   node_id  = "<podIP>:<optimizingPort>:<podUID>" (Amoro's host:port:uuid)
//   ha-pod label value = the pod name when it is a valid label value of at
//     most 63 characters, else "<first 46 characters>-<16 hex of a 64-bit
//     hash of the whole name>"; so the value is stable, always valid, and
//     two pods of one namespace share it only on a 64-bit hash collision,
//     which the reconciler detects and refuses to route.
// Pure functions; thread-safe.
#ifndef AMS_HA_ELECTION_POD_IDENTITY_H_
#define AMS_HA_ELECTION_POD_IDENTITY_H_

#include <string>

#include "config/config.h"
#include "kube/kube_types.h"
#include "lease/lease_record.h"

namespace amsha {

std::string NodeIdFor(const Pod& pod, int optimizing_port);
// The pod UID inside a node_id: the part after the last ':' ("" if none).
std::string UidFromNodeId(const std::string& node_id);
// The lease holder that stands for `pod` in `cluster`.
LeaseHolder HolderFor(const Pod& pod, const ClusterConfig& cluster);
std::string PodIdentityLabelValue(const std::string& pod_name);

}  // namespace amsha

#endif  // AMS_HA_ELECTION_POD_IDENTITY_H_
