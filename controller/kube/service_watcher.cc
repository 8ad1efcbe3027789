#include "kube/service_watcher.h"

namespace amsha {
namespace {

// Remembered versions per Service for Observe(): it runs right after our
// write returns, so for its version to drop out, this many later writes to
// the same Service would have to be delivered in between.
constexpr size_t kObserveWindow = 8;

ReflectorOptions ReflectorOptionsFor(const ServiceWatcher::Options& options,
                                     const std::string& namespace_name) {
  ReflectorOptions out;
  static_cast<ReflectorTiming&>(out) = options;
  out.kind = "service";
  out.log_fields = {{"namespace", namespace_name}};
  out.observe_window = kObserveWindow;
  return out;
}

}  // namespace

ServiceWatcher::ServiceWatcher(KubeApi* api, Options options, const Clock* clock)
    : Reflector<Service>(
          [api](const Cancellation& cancel) -> StatusOr<Reflector<Service>::List> {
            StatusOr<ServiceList> list = api->ListServices(cancel);
            if (!list.ok()) return list.status();
            return Reflector<Service>::List{std::move(list->items),
                                            std::move(list->resource_version)};
          },
          [api](const std::string& from,
                const std::function<void(const Reflector<Service>::Event&)>& on_event,
                const Cancellation& cancel) {
            return api->WatchServices(
                from,
                [&](const ServiceWatchEvent& e) {
                  on_event({e.type, e.service});
                },
                cancel);
          },
          ReflectorOptionsFor(options, api->Namespace()), clock) {}

void ServiceWatcher::SetListener(Listener listener) {
  if (!listener) return Reflector<Service>::SetListener(nullptr);
  Reflector<Service>::SetListener(
      [listener = std::move(listener)](const Reflector<Service>::Change& c) {
        listener(Change{c.type, c.object});
      });
}

}  // namespace amsha
