// Plain values the controller reads from and writes to the Kubernetes API:
// the parts of a Pod, a Service and an Event that this project needs.
// Thread-compatible values.
#ifndef AMS_HA_KUBE_KUBE_TYPES_H_
#define AMS_HA_KUBE_KUBE_TYPES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"

namespace amsha {

using Labels = std::map<std::string, std::string>;
// A label or annotation change: a value sets the key, nullopt removes it.
using LabelPatch = std::map<std::string, std::optional<std::string>>;

struct Pod {
  std::string name;
  std::string namespace_name;
  std::string uid;
  Labels labels;
  std::string pod_ip;  // empty until assigned
  std::string phase;   // Pending, Running, ...
  bool ready = false;  // the Ready condition is True
  // RFC 3339 lastTransitionTime of the Ready condition ("" if unknown).
  std::string ready_transition_time;
  std::optional<std::string> deletion_timestamp;  // set once terminating
  std::string resource_version;

  bool Terminating() const { return deletion_timestamp.has_value(); }
  bool operator==(const Pod& o) const {
    return name == o.name && namespace_name == o.namespace_name && uid == o.uid &&
           labels == o.labels && pod_ip == o.pod_ip && phase == o.phase && ready == o.ready &&
           ready_transition_time == o.ready_transition_time &&
           deletion_timestamp == o.deletion_timestamp && resource_version == o.resource_version;
  }
};

struct PodList {
  std::vector<Pod> items;
  std::string resource_version;  // the list's, to start a watch from
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark };

struct PodWatchEvent {
  WatchEventType type;
  Pod pod;  // for kBookmark only resource_version is meaningful
};

struct Service {
  std::string name;
  std::string namespace_name;
  std::string uid;
  Labels selector;
  Labels annotations;
  std::string resource_version;

  bool operator==(const Service& o) const {
    return name == o.name && namespace_name == o.namespace_name && uid == o.uid &&
           selector == o.selector && annotations == o.annotations &&
           resource_version == o.resource_version;
  }
};

struct ServiceList {
  std::vector<Service> items;
  std::string resource_version;  // the list's, to start a watch from
};

struct ServiceWatchEvent {
  WatchEventType type;
  Service service;  // for kBookmark only resource_version is meaningful
};

// A change to a Service. `selector`, when set, replaces the whole selector
// (keys not named are removed). Annotations are merged (nullopt removes).
struct ServicePatch {
  std::optional<Labels> selector;
  LabelPatch annotations;
  // When non-empty, the write fails with kConflict (HTTP 409) unless the
  // Service is still at this resourceVersion.
  std::string expected_resource_version;
  // The selector the Service has at expected_resource_version, when the
  // caller knows it (from a watch cache). With both set, RestKubeApi builds
  // the merge patch's nulls for dropped keys from it instead of reading the
  // Service first; the precondition still rejects a stale view.
  std::optional<Labels> current_selector;
};

// What an Event is about, as client-go's reference.GetReference builds it:
// `kubectl describe` finds an object's Events by involvedObject name,
// namespace, kind and uid, so the uid must be the object's.
struct ObjectReference {
  std::string kind;  // Pod, Service
  std::string name;
  std::string namespace_name;
  std::string uid;
  std::string api_version = "v1";
  std::string resource_version = "";  // of the object when the Event was recorded
};

// A core/v1 Event in the shape client-go's event recorders write: a new
// Event has count 1; a repeat of it (see EventRecorder) is the same object
// with a higher count, a later last_time and `series` set.
struct Event {
  std::string name;  // metadata.name; EventRecorder sets "<object>.<hex nanoseconds>"
  ObjectReference involved_object;
  std::string reason;  // LeaderElected, FailingOver, Switchover, ForeignLeaseHolder
  // What the controller did (required with eventTime): Elect, Route,
  // FailOver, SwitchOver, WaitForExpiry.
  std::string action;
  std::string message;
  std::string type = "Normal";  // Normal or Warning
  std::string reporting_component = "ams-ha-controller";
  std::string reporting_instance;  // the controller's identity (at most 128 characters)
  WallTime first_time{};           // eventTime and firstTimestamp
  WallTime last_time{};            // lastTimestamp and series.lastObservedTime
  int count = 1;                   // occurrences; > 1 writes `series` too
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_KUBE_TYPES_H_
