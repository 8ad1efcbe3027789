#include "kube/event_recorder.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace amsha {

std::string EventName(const ObjectReference& object, WallTime when) {
  long long nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), ".%llx", nanos);
  return object.name.substr(0, 253 - std::strlen(suffix)) + suffix;
}

EventRecorder::EventRecorder(KubeApi* api, const Clock* clock, std::string reporting_instance)
    : api_(api),
      clock_(clock),
      reporting_instance_(reporting_instance.substr(0, kMaxReportingInstance)) {}

EventRecorder::Key EventRecorder::KeyOf(const Event& e) {
  const ObjectReference& o = e.involved_object;
  return {e.type,
          e.action,
          e.reason,
          e.reporting_component,
          e.reporting_instance,
          o.kind,
          o.namespace_name,
          o.name + "/" + o.uid,
          o.api_version};
}

void EventRecorder::EvictLocked(WallTime now) {
  for (auto it = recorded_.begin(); it != recorded_.end();) {
    it = now - it->second.last_time > kSeriesWindow ? recorded_.erase(it) : std::next(it);
  }
  while (recorded_.size() >= kMaxCached) {
    auto oldest = std::min_element(recorded_.begin(), recorded_.end(), [](auto& a, auto& b) {
      return a.second.last_time < b.second.last_time;
    });
    recorded_.erase(oldest);
  }
}

Status EventRecorder::Record(Event event) {
  std::lock_guard<std::mutex> lock(mu_);
  WallTime now = clock_->WallNow();
  event.reporting_instance = reporting_instance_;
  if (event.involved_object.namespace_name.empty()) {
    event.involved_object.namespace_name = api_->Namespace();
  }
  Key key = KeyOf(event);
  auto it = recorded_.find(key);
  if (it != recorded_.end() && now - it->second.last_time <= kSeriesWindow) {
    Event repeat = it->second;
    repeat.count += 1;
    repeat.last_time = now;
    repeat.message = event.message;
    repeat.involved_object.resource_version = event.involved_object.resource_version;
    Status s = api_->PatchEventSeries(repeat);
    if (s.ok()) {
      it->second = repeat;
      return s;
    }
    if (s.code() != StatusCode::kNotFound) return s;
    // Gone from the server: record it anew below (with its count so far).
    event.count = repeat.count;
    recorded_.erase(it);
  }
  EvictLocked(now);
  event.first_time = now;
  event.last_time = now;
  // Names must be unique: two Events in the same clock tick (a coarse
  // clock, or a fake one) get successive nanoseconds.
  WallTime name_time = std::max(now, last_name_time_ + std::chrono::nanoseconds(1));
  last_name_time_ = name_time;
  event.name = EventName(event.involved_object, name_time);
  Status s = api_->CreateEvent(event);
  if (s.ok()) recorded_[key] = event;
  return s;
}

}  // namespace amsha
