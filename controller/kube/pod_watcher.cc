#include "kube/pod_watcher.h"

namespace amsha {
namespace {

ReflectorOptions ReflectorOptionsFor(const PodWatcher::Options& options) {
  ReflectorOptions out;
  static_cast<ReflectorTiming&>(out) = options;
  out.kind = "pod";
  out.log_fields = {{"selector", options.label_selector}};
  return out;
}

}  // namespace

PodWatcher::PodWatcher(KubeApi* api, Options options, const Clock* clock)
    : Reflector<Pod>(
          [api, selector = options.label_selector](
              const Cancellation& cancel) -> StatusOr<Reflector<Pod>::List> {
            StatusOr<PodList> list = api->ListPods(selector, cancel);
            if (!list.ok()) return list.status();
            return Reflector<Pod>::List{std::move(list->items), std::move(list->resource_version)};
          },
          [api, selector = options.label_selector](
              const std::string& from,
              const std::function<void(const Reflector<Pod>::Event&)>& on_event,
              const Cancellation& cancel) {
            return api->WatchPods(
                selector, from,
                [&](const PodWatchEvent& e) {
                  on_event({e.type, e.pod});
                },
                cancel);
          },
          ReflectorOptionsFor(options), clock) {}

void PodWatcher::SetListener(Listener listener) {
  if (!listener) return Reflector<Pod>::SetListener(nullptr);
  Reflector<Pod>::SetListener([listener = std::move(listener)](const Reflector<Pod>::Change& c) {
    listener(Change{c.type, c.object});
  });
}

}  // namespace amsha
