// EventRecorder: records core/v1 Events the way client-go's event recorder
// (k8s.io/client-go/tools/events, event_broadcaster.go) does, over KubeApi.
//
// The first occurrence of an Event is created as a new object named
// "<object>.<hex nanoseconds>" with eventTime, action and reporting fields.
// A repeat within `kSeriesWindow` of the previous one, with the same type,
// action, reason, reporting component and instance and involved object, is
// not a new object: the existing Event is patched (count, lastTimestamp,
// series, and the latest message), so a burst of transitions shows as one
// line "(x5 over 2m)" in `kubectl describe`. Two choices differ from
// client-go, on purpose: the key leaves out the involved object's
// resourceVersion (every transition relabels the pod, which would make every
// repeat a new Event), and the patch carries the latest message, which names
// the latest pods. When the patch finds the Event gone (expired by the
// server's --event-ttl, or deleted), it is created again.
// Callers: ClusterLoop (one thread per cluster). Thread-safe (one mutex).
#ifndef AMS_HA_KUBE_EVENT_RECORDER_H_
#define AMS_HA_KUBE_EVENT_RECORDER_H_

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "common/clock.h"
#include "common/status.h"
#include "kube/kube_api.h"

namespace amsha {

class EventRecorder {
 public:
  // client-go's finishTime: a series ends after this long without a repeat.
  static constexpr std::chrono::minutes kSeriesWindow{6};
  // Most Events remembered for aggregation; the oldest is forgotten first.
  static constexpr size_t kMaxCached = 512;
  // kube-apiserver's ReportingInstanceLengthLimit (validation/events.go).
  static constexpr size_t kMaxReportingInstance = 128;

  EventRecorder(KubeApi* api, const Clock* clock, std::string reporting_instance);

  // Creates or aggregates the Event. `event.name`, times, count and
  // reporting fields are filled here. Returns the API's error, if any.
  Status Record(Event event);

 private:
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string,
                         std::string, std::string, std::string, std::string>;
  static Key KeyOf(const Event& event);
  void EvictLocked(WallTime now);

  KubeApi* api_;
  const Clock* clock_;
  const std::string reporting_instance_;
  std::mutex mu_;
  std::map<Key, Event> recorded_;
  WallTime last_name_time_{};
};

// "<object name>.<hex nanoseconds>", the Event name client-go's recorders
// give (shortened to stay a 253-character DNS subdomain).
std::string EventName(const ObjectReference& object, WallTime when);

}  // namespace amsha

#endif  // AMS_HA_KUBE_EVENT_RECORDER_H_
