#include "support/fake_kube_api.h"

#include <algorithm>
#include <cstdio>

#include "kube/label_selector.h"

namespace amsha {
namespace {

std::string FormatLabels(const Labels& labels) {
  std::string out = "{";
  for (const auto& [k, v] : labels) out += (out.size() > 1 ? "," : "") + k + "=" + v;
  return out + "}";
}

std::string FormatPatch(const LabelPatch& patch) {
  std::string out = "{";
  for (const auto& [k, v] : patch)
    out += (out.size() > 1 ? "," : "") + k + "=" + v.value_or("null");
  return out + "}";
}

void ApplyPatch(const LabelPatch& patch, Labels* labels) {
  for (const auto& [k, v] : patch) {
    if (v) {
      (*labels)[k] = *v;
    } else {
      labels->erase(k);
    }
  }
}

}  // namespace

const char* FakeKubeApi::MethodName(Method method) {
  switch (method) {
    case Method::kListPods:
      return "ListPods";
    case Method::kWatchPods:
      return "WatchPods";
    case Method::kPatchPodLabels:
      return "PatchPodLabels";
    case Method::kGetService:
      return "GetService";
    case Method::kPatchService:
      return "PatchService";
    case Method::kListServices:
      return "ListServices";
    case Method::kWatchServices:
      return "WatchServices";
    case Method::kCreateEvent:
      return "CreateEvent";
    case Method::kPatchEventSeries:
      return "PatchEventSeries";
  }
  return "?";
}

FakeKubeApi::FakeKubeApi(std::string namespace_name) : namespace_(std::move(namespace_name)) {}

FakeKubeApi::~FakeKubeApi() = default;

// --- KubeApi ---

StatusOr<PodList> FakeKubeApi::ListPods(const std::string& label_selector) {
  Cancellation never;
  return ListPods(label_selector, never);
}

StatusOr<PodList> FakeKubeApi::ListPods(const std::string& label_selector,
                                        const Cancellation& cancel) {
  RunHook(Method::kListPods);
  std::string detail = "selector=" + label_selector;
  if (!WaitOutHang(Method::kListPods, &cancel)) {
    std::lock_guard<std::mutex> lock(mu_);
    Status s = CancelledError("list cancelled");
    LogCallLocked(Method::kListPods, detail, s);
    return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  Status failure;
  if (TakeFailureLocked(Method::kListPods, &failure)) {
    LogCallLocked(Method::kListPods, detail, failure);
    return failure;
  }
  StatusOr<LabelSelector> selector = LabelSelector::Parse(label_selector);
  if (!selector.ok()) {
    LogCallLocked(Method::kListPods, detail, selector.status());
    return selector.status();
  }
  PodList list;
  for (const auto& [name, pod] : pods_) {
    if (selector->Matches(pod.labels)) list.items.push_back(pod);
  }
  list.resource_version = std::to_string(rv_);
  LogCallLocked(Method::kListPods, detail, Status::Ok());
  return list;
}

Status FakeKubeApi::WatchPods(const std::string& label_selector,
                              const std::string& resource_version,
                              const std::function<void(const PodWatchEvent&)>& on_event,
                              const Cancellation& cancel) {
  StatusOr<LabelSelector> parsed = LabelSelector::Parse(label_selector);
  LabelSelector selector = parsed.ok() ? *parsed : LabelSelector::FromMap({});
  auto emit = [&on_event](Batch* batch, WatchEventType type, const Pod& pod) {
    batch->push_back([&on_event, type, pod] { on_event({type, pod}); });
  };
  return RunWatch(
      Method::kWatchPods, "selector=" + label_selector + " rv=" + resource_version,
      resource_version, parsed.status(), cancel,
      [&](Batch* batch) {
        for (const auto& [name, pod] : pods_) {
          if (selector.Matches(pod.labels)) emit(batch, WatchEventType::kAdded, pod);
        }
      },
      [&](const HistoryEntry& e, Batch* batch) {
        if (e.type == WatchEventType::kBookmark) {
          Pod marker;
          marker.resource_version = std::to_string(e.rv);
          emit(batch, WatchEventType::kBookmark, marker);
          return;
        }
        if (e.kind != Kind::kPod) return;
        // The server's view through a selector: a pod that starts matching
        // is ADDED, one that stops matching DELETED.
        bool before = e.before && selector.Matches(e.before->labels);
        bool after = e.after && selector.Matches(e.after->labels);
        if (e.type == WatchEventType::kDeleted) {
          if (!before) return;
          Pod gone = *e.before;
          gone.resource_version = std::to_string(e.rv);
          emit(batch, WatchEventType::kDeleted, gone);
        } else if (before && after) {
          emit(
              batch,
              e.type == WatchEventType::kAdded ? WatchEventType::kAdded : WatchEventType::kModified,
              *e.after);
        } else if (after) {
          emit(batch, WatchEventType::kAdded, *e.after);
        } else if (before) {
          emit(batch, WatchEventType::kDeleted, *e.after);
        }
      });
}

StatusOr<ServiceList> FakeKubeApi::ListServices(const Cancellation& cancel) {
  RunHook(Method::kListServices);
  if (!WaitOutHang(Method::kListServices, &cancel)) {
    std::lock_guard<std::mutex> lock(mu_);
    Status s = CancelledError("list cancelled");
    LogCallLocked(Method::kListServices, "", s);
    return s;
  }
  std::lock_guard<std::mutex> lock(mu_);
  Status failure;
  if (TakeFailureLocked(Method::kListServices, &failure)) {
    LogCallLocked(Method::kListServices, "", failure);
    return failure;
  }
  ServiceList list;
  for (const auto& [name, service] : services_) list.items.push_back(service);
  list.resource_version = std::to_string(rv_);
  LogCallLocked(Method::kListServices, "", Status::Ok());
  return list;
}

Status FakeKubeApi::WatchServices(const std::string& resource_version,
                                  const std::function<void(const ServiceWatchEvent&)>& on_event,
                                  const Cancellation& cancel) {
  auto emit = [&on_event](Batch* batch, WatchEventType type, const Service& service) {
    batch->push_back([&on_event, type, service] { on_event({type, service}); });
  };
  return RunWatch(
      Method::kWatchServices, "rv=" + resource_version, resource_version, Status::Ok(), cancel,
      [&](Batch* batch) {
        for (const auto& [name, service] : services_) emit(batch, WatchEventType::kAdded, service);
      },
      [&](const HistoryEntry& e, Batch* batch) {
        if (e.type == WatchEventType::kBookmark) {
          Service marker;
          marker.resource_version = std::to_string(e.rv);
          emit(batch, WatchEventType::kBookmark, marker);
          return;
        }
        if (e.kind != Kind::kService) return;
        if (e.type == WatchEventType::kDeleted) {
          Service gone = *e.service_before;
          gone.resource_version = std::to_string(e.rv);
          emit(batch, WatchEventType::kDeleted, gone);
        } else {
          emit(batch, e.type, *e.service_after);
        }
      });
}

Status FakeKubeApi::RunWatch(Method method, const std::string& detail,
                             const std::string& resource_version, const Status& request_error,
                             const Cancellation& cancel,
                             const std::function<void(Batch*)>& current_state,
                             const std::function<void(const HistoryEntry&, Batch*)>& translate) {
  RunHook(method);
  if (!WaitOutHang(method, &cancel)) {
    std::lock_guard<std::mutex> lock(mu_);
    Status s = CancelledError("watch cancelled");
    LogCallLocked(method, detail, s);
    return s;
  }
  // Wakes this watch when cancelled. Registered before taking mu_ because
  // OnCancel runs the callback at once if already cancelled.
  int cancel_id = cancel.OnCancel([this] {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  });

  std::unique_lock<std::mutex> lock(mu_);
  auto finish = [&](Status result) {
    LogCallLocked(method, detail, result);
    lock.unlock();
    cancel.RemoveCallback(cancel_id);
    return result;
  };
  Status failure;
  if (TakeFailureLocked(method, &failure)) return finish(failure);
  if (!request_error.ok()) return finish(request_error);
  std::optional<Status> scripted_end;
  if (!scripted_ends_.empty()) {
    scripted_end = scripted_ends_.front();
    scripted_ends_.pop_front();
  }
  if (scripted_end && scripted_end->code() == StatusCode::kGone) return finish(*scripted_end);

  Batch batch;
  uint64_t cursor = 0;
  if (resource_version.empty() || resource_version == "0") {
    // "Any version": the current state as ADDED events, then changes.
    current_state(&batch);
    cursor = next_seq_ - 1;
  } else {
    int64_t from = 0;
    try {
      from = std::stoll(resource_version);
    } catch (...) {
      return finish(InvalidArgumentError("bad resourceVersion \"" + resource_version + "\""));
    }
    if (from < oldest_servable_rv_) {
      return finish(Status(StatusCode::kGone, "too old resource version: " + resource_version +
                                                  " (" + std::to_string(oldest_servable_rv_) +
                                                  ")"));
    }
    for (const HistoryEntry& e : history_) {
      if (e.rv <= from) cursor = e.seq;
    }
  }

  ++open_watches_;
  // Recorded when it opens, so that a test can see an open watch's
  // resourceVersion; the result is filled in when it ends.
  LogCallLocked(method, detail, Status::Ok());
  const size_t call_index = calls_.size() - 1;
  const uint64_t calls_epoch = calls_epoch_;
  const uint64_t end_generation = end_generation_;
  Status result;
  while (true) {
    for (const HistoryEntry& e : history_) {
      if (e.seq <= cursor) continue;
      cursor = e.seq;
      translate(e, &batch);
    }
    if (!batch.empty()) {
      lock.unlock();
      for (const auto& deliver : batch) deliver();
      batch.clear();
      lock.lock();
      continue;  // more may have arrived meanwhile
    }
    if (cancel.IsCancelled()) {
      result = CancelledError("watch cancelled");
      break;
    }
    if (scripted_end) {
      result = *scripted_end;
      break;
    }
    if (end_generation_ != end_generation) {
      result = end_status_;
      break;
    }
    cv_.wait(lock, [&] {
      return (!history_.empty() && history_.back().seq > cursor) || cancel.IsCancelled() ||
             end_generation_ != end_generation;
    });
  }
  --open_watches_;
  if (calls_epoch == calls_epoch_) calls_[call_index].result = result;
  cv_.notify_all();
  lock.unlock();
  cancel.RemoveCallback(cancel_id);
  return result;
}

StatusOr<Pod> FakeKubeApi::PatchPodLabels(const std::string& pod_name, const LabelPatch& labels) {
  RunHook(Method::kPatchPodLabels);
  WaitOutHang(Method::kPatchPodLabels, nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  std::string detail = "pod=" + pod_name + " labels=" + FormatPatch(labels);
  Status failure;
  if (TakeFailureLocked(Method::kPatchPodLabels, &failure)) {
    LogCallLocked(Method::kPatchPodLabels, detail, failure);
    return failure;
  }
  auto it = pods_.find(pod_name);
  if (it == pods_.end()) {
    Status s = NotFoundError("pods \"" + pod_name + "\" not found");
    LogCallLocked(Method::kPatchPodLabels, detail, s);
    return s;
  }
  Pod before = it->second;
  ApplyPatch(labels, &it->second.labels);
  int64_t rv = BumpLocked();
  it->second.resource_version = std::to_string(rv);
  RecordLocked(WatchEventType::kModified, before, it->second, rv);
  LogCallLocked(Method::kPatchPodLabels, detail, Status::Ok());
  return it->second;
}

StatusOr<Service> FakeKubeApi::GetService(const std::string& name) {
  RunHook(Method::kGetService);
  WaitOutHang(Method::kGetService, nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  std::string detail = "service=" + name;
  Status failure;
  if (TakeFailureLocked(Method::kGetService, &failure)) {
    LogCallLocked(Method::kGetService, detail, failure);
    return failure;
  }
  auto it = services_.find(name);
  if (it == services_.end()) {
    Status s = NotFoundError("services \"" + name + "\" not found");
    LogCallLocked(Method::kGetService, detail, s);
    return s;
  }
  LogCallLocked(Method::kGetService, detail, Status::Ok());
  return it->second;
}

StatusOr<Service> FakeKubeApi::PatchService(const std::string& name, const ServicePatch& patch) {
  RunHook(Method::kPatchService);
  WaitOutHang(Method::kPatchService, nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  std::string detail = "service=" + name + " selector=" +
                       (patch.selector ? FormatLabels(*patch.selector) : "unchanged") +
                       " annotations=" + FormatPatch(patch.annotations) +
                       " expectedRv=" + patch.expected_resource_version;
  Status failure;
  if (TakeFailureLocked(Method::kPatchService, &failure)) {
    LogCallLocked(Method::kPatchService, detail, failure);
    return failure;
  }
  auto it = services_.find(name);
  if (it == services_.end()) {
    Status s = NotFoundError("services \"" + name + "\" not found");
    LogCallLocked(Method::kPatchService, detail, s);
    return s;
  }
  if (!patch.expected_resource_version.empty() &&
      patch.expected_resource_version != it->second.resource_version) {
    Status s = ConflictError("Operation cannot be fulfilled on services \"" + name +
                             "\": the object has been modified");
    LogCallLocked(Method::kPatchService, detail, s);
    return s;
  }
  Service before = it->second;
  if (patch.selector) it->second.selector = *patch.selector;
  ApplyPatch(patch.annotations, &it->second.annotations);
  int64_t rv = BumpLocked();
  it->second.resource_version = std::to_string(rv);
  RecordServiceLocked(WatchEventType::kModified, before, it->second, rv);
  LogCallLocked(Method::kPatchService, detail, Status::Ok());
  return it->second;
}

Status FakeKubeApi::CreateEvent(const Event& event) {
  RunHook(Method::kCreateEvent);
  WaitOutHang(Method::kCreateEvent, nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  std::string detail = "reason=" + event.reason + " object=" + event.involved_object.kind + "/" +
                       event.involved_object.name;
  Status failure;
  if (TakeFailureLocked(Method::kCreateEvent, &failure)) {
    LogCallLocked(Method::kCreateEvent, detail, failure);
    return failure;
  }
  // The API server's validation (legacyValidateEvent, for Events with
  // eventTime), as HTTP 422 maps to kInvalidArgument.
  Status s;
  if (event.involved_object.name.empty() || event.involved_object.kind.empty()) {
    s = InvalidArgumentError("Event is invalid: involvedObject: Required value");
  } else if (event.action.empty()) {
    s = InvalidArgumentError("Event is invalid: action: Required value");
  } else if (event.reason.empty()) {
    s = InvalidArgumentError("Event is invalid: reason: Required value");
  } else if (event.reporting_component.empty() || event.reporting_instance.empty()) {
    s = InvalidArgumentError("Event is invalid: reportingController: Required value");
  } else if (event.type != "Normal" && event.type != "Warning") {
    s = InvalidArgumentError("Event is invalid: type: Unsupported value: \"" + event.type + "\"");
  } else if (event.involved_object.namespace_name != namespace_) {
    s = InvalidArgumentError("Event is invalid: involvedObject.namespace: does not match");
  } else {
    for (const Event& e : events_) {
      if (!event.name.empty() && e.name == event.name) {
        s = ConflictError("events \"" + event.name + "\" already exists");
      }
    }
  }
  if (s.ok()) {
    events_.push_back(event);
    BumpLocked();
  }
  LogCallLocked(Method::kCreateEvent, detail, s);
  return s;
}

Status FakeKubeApi::PatchEventSeries(const Event& event) {
  RunHook(Method::kPatchEventSeries);
  WaitOutHang(Method::kPatchEventSeries, nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  std::string detail = "event=" + event.name + " count=" + std::to_string(event.count);
  Status s;
  if (TakeFailureLocked(Method::kPatchEventSeries, &s)) {
    LogCallLocked(Method::kPatchEventSeries, detail, s);
    return s;
  }
  auto it = std::find_if(events_.begin(), events_.end(),
                         [&](const Event& e) { return e.name == event.name; });
  if (it == events_.end()) {
    s = NotFoundError("events \"" + event.name + "\" not found");
  } else {
    it->count = event.count;
    it->last_time = event.last_time;
    it->message = event.message;
    BumpLocked();
  }
  LogCallLocked(Method::kPatchEventSeries, detail, s);
  return s;
}

// --- State ---

Pod FakeKubeApi::MakePod(const std::string& name, Labels labels, bool ready, std::string ip) const {
  Pod pod;
  pod.name = name;
  pod.namespace_name = namespace_;
  pod.labels = std::move(labels);
  pod.phase = "Running";
  pod.ready = ready;
  pod.ready_transition_time = "2026-01-01T00:00:00Z";
  if (ip.empty()) {
    // A stable, distinct address per name.
    unsigned h = 0;
    for (char c : name) h = h * 31 + static_cast<unsigned char>(c);
    ip = "10.0." + std::to_string((h >> 8) % 250 + 1) + "." + std::to_string(h % 250 + 1);
  }
  pod.pod_ip = ip;
  return pod;
}

Pod FakeKubeApi::PutPod(Pod pod) {
  std::lock_guard<std::mutex> lock(mu_);
  pod.namespace_name = namespace_;
  auto it = pods_.find(pod.name);
  std::optional<Pod> before;
  if (it != pods_.end()) {
    before = it->second;
    if (pod.uid.empty()) pod.uid = it->second.uid;
  }
  if (pod.uid.empty()) pod.uid = "uid-" + std::to_string(next_uid_++);
  int64_t rv = BumpLocked();
  pod.resource_version = std::to_string(rv);
  pods_[pod.name] = pod;
  RecordLocked(before ? WatchEventType::kModified : WatchEventType::kAdded, before, pod, rv);
  return pod;
}

Status FakeKubeApi::SetPodReady(const std::string& name, bool ready) {
  std::optional<Pod> pod = FindPod(name);
  if (!pod) return NotFoundError("pods \"" + name + "\" not found");
  pod->ready = ready;
  PutPod(*pod);
  return Status::Ok();
}

Status FakeKubeApi::MarkPodTerminating(const std::string& name) {
  std::optional<Pod> pod = FindPod(name);
  if (!pod) return NotFoundError("pods \"" + name + "\" not found");
  pod->deletion_timestamp = "2026-01-01T00:00:00Z";
  PutPod(*pod);
  return Status::Ok();
}

Status FakeKubeApi::RemovePod(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pods_.find(name);
  if (it == pods_.end()) return NotFoundError("pods \"" + name + "\" not found");
  Pod before = it->second;
  pods_.erase(it);
  RecordLocked(WatchEventType::kDeleted, before, std::nullopt, BumpLocked());
  return Status::Ok();
}

std::optional<Pod> FakeKubeApi::FindPod(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pods_.find(name);
  if (it == pods_.end()) return std::nullopt;
  return it->second;
}

std::vector<Pod> FakeKubeApi::Pods() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Pod> out;
  for (const auto& [name, pod] : pods_) out.push_back(pod);
  return out;
}

Service FakeKubeApi::PutService(Service service) {
  std::lock_guard<std::mutex> lock(mu_);
  service.namespace_name = namespace_;
  auto it = services_.find(service.name);
  std::optional<Service> before;
  if (it != services_.end()) {
    before = it->second;
    if (service.uid.empty()) service.uid = it->second.uid;
  }
  if (service.uid.empty()) service.uid = "uid-" + std::to_string(next_uid_++);
  int64_t rv = BumpLocked();
  service.resource_version = std::to_string(rv);
  services_[service.name] = service;
  RecordServiceLocked(before ? WatchEventType::kModified : WatchEventType::kAdded, before, service,
                      rv);
  return service;
}

Status FakeKubeApi::RemoveService(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = services_.find(name);
  if (it == services_.end()) return NotFoundError("services \"" + name + "\" not found");
  Service before = it->second;
  services_.erase(it);
  RecordServiceLocked(WatchEventType::kDeleted, before, std::nullopt, BumpLocked());
  return Status::Ok();
}

std::optional<Service> FakeKubeApi::FindService(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = services_.find(name);
  if (it == services_.end()) return std::nullopt;
  return it->second;
}

std::vector<Event> FakeKubeApi::Events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

std::string FakeKubeApi::CurrentResourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::to_string(rv_);
}

// --- Knobs ---

void FakeKubeApi::FailNext(Method method, int count, Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < count; ++i) failures_[method].push_back(status);
}

void FakeKubeApi::ScriptWatchEnd(Status end) {
  std::lock_guard<std::mutex> lock(mu_);
  scripted_ends_.push_back(std::move(end));
}

void FakeKubeApi::ClearKnobs() {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.clear();
  hangs_.clear();
  scripted_ends_.clear();
}

void FakeKubeApi::HangNext(Method method, int count) {
  std::lock_guard<std::mutex> lock(mu_);
  hangs_[method] += count;
}

void FakeKubeApi::ReleaseHangs() {
  std::lock_guard<std::mutex> lock(mu_);
  ++release_generation_;
  cv_.notify_all();
}

bool FakeKubeApi::WaitForHanging(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return hanging_ >= n; });
}

void FakeKubeApi::EndWatches(Status end) {
  std::lock_guard<std::mutex> lock(mu_);
  end_status_ = std::move(end);
  ++end_generation_;
  cv_.notify_all();
}

void FakeKubeApi::Compact() {
  std::lock_guard<std::mutex> lock(mu_);
  history_.clear();
  oldest_servable_rv_ = rv_;
}

void FakeKubeApi::SetHistoryWindow(size_t events) {
  std::lock_guard<std::mutex> lock(mu_);
  history_window_ = std::max<size_t>(events, 1);
  while (history_.size() > history_window_) {
    oldest_servable_rv_ = std::max(oldest_servable_rv_, history_.front().rv);
    history_.pop_front();
  }
}

void FakeKubeApi::SendBookmark() {
  std::lock_guard<std::mutex> lock(mu_);
  RecordLocked(WatchEventType::kBookmark, std::nullopt, std::nullopt, rv_);
}

void FakeKubeApi::SetCallHook(std::function<void(Method)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  hook_ = std::move(hook);
}

// --- Records ---

std::vector<FakeKubeApi::Call> FakeKubeApi::Calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

std::vector<FakeKubeApi::Call> FakeKubeApi::CallsOf(Method method) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Call> out;
  for (const Call& c : calls_) {
    if (c.method == method) out.push_back(c);
  }
  return out;
}

int FakeKubeApi::CallCount(Method method) const { return static_cast<int>(CallsOf(method).size()); }

void FakeKubeApi::ClearCalls() {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.clear();
  ++calls_epoch_;
}

int FakeKubeApi::OpenWatches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_watches_;
}

bool FakeKubeApi::WaitForOpenWatches(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return open_watches_ >= n; });
}

bool FakeKubeApi::WaitForCalls(Method method, int n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return std::count_if(calls_.begin(), calls_.end(),
                         [&](const Call& c) { return c.method == method; }) >= n;
  });
}

// --- Private ---

void FakeKubeApi::RecordLocked(WatchEventType type, std::optional<Pod> before,
                               std::optional<Pod> after, int64_t rv) {
  HistoryEntry e{next_seq_++, rv, Kind::kPod, type, std::move(before), std::move(after), {}, {}};
  AppendLocked(std::move(e));
}

void FakeKubeApi::RecordServiceLocked(WatchEventType type, std::optional<Service> before,
                                      std::optional<Service> after, int64_t rv) {
  HistoryEntry e{next_seq_++, rv, Kind::kService,    type,
                 {},          {}, std::move(before), std::move(after)};
  AppendLocked(std::move(e));
}

void FakeKubeApi::AppendLocked(HistoryEntry entry) {
  history_.push_back(std::move(entry));
  while (history_.size() > history_window_) {
    oldest_servable_rv_ = std::max(oldest_servable_rv_, history_.front().rv);
    history_.pop_front();
  }
  cv_.notify_all();
}

bool FakeKubeApi::TakeFailureLocked(Method method, Status* status) {
  auto it = failures_.find(method);
  if (it == failures_.end() || it->second.empty()) return false;
  *status = it->second.front();
  it->second.pop_front();
  return true;
}

void FakeKubeApi::LogCallLocked(Method method, std::string detail, const Status& result) {
  calls_.push_back({method, std::move(detail), result});
  cv_.notify_all();
}

bool FakeKubeApi::WaitOutHang(Method method, const Cancellation* cancel) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = hangs_.find(method);
    if (it == hangs_.end() || it->second == 0) return true;
    --it->second;
    ++hanging_;
    generation = release_generation_;
    cv_.notify_all();
  }
  // Registered outside mu_: OnCancel runs the callback at once if cancelled.
  int id = cancel ? cancel->OnCancel([this] {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  })
                  : 0;
  bool released;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] {
      return release_generation_ != generation || (cancel && cancel->IsCancelled());
    });
    released = release_generation_ != generation;
    --hanging_;
  }
  if (cancel) cancel->RemoveCallback(id);
  return released;
}

void FakeKubeApi::RunHook(Method method) {
  std::function<void(Method)> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hook = hook_;
  }
  if (hook) hook(method);
}

}  // namespace amsha
