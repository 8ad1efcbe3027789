// WatchStream: one open watch, from the store's queue to the client's
// chunked response, one JSON event per line.
//
// It filters events through the watch's label and field selectors the way
// the API server's watch cache does: an object that starts matching is sent
// as ADDED, one that stops matching as DELETED (previous content, the
// event's resourceVersion). It sends BOOKMARK events every second while idle
// when asked, ends cleanly at the timeout, goes silent while the API is
// paused, and ends abruptly when the admin API cuts watches.
// Callers: the API handler builds one per watch request; Run() executes on
// the connection's thread.
#ifndef AMS_HA_TESTS_STANDIN_WATCH_STREAM_H_
#define AMS_HA_TESTS_STANDIN_WATCH_STREAM_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "standin/controls.h"
#include "standin/field_selector.h"
#include "standin/http_server.h"
#include "standin/label_selector.h"
#include "standin/store.h"

namespace amsha::standin {

struct WatchOptions {
  LabelSelector labels;
  FieldSelector fields;
  bool bookmarks = false;
  std::chrono::seconds timeout{300};
  std::string kind;  // of bookmark objects: Pod, Service, Event
  // Applied to each event's object (e.g. to render it as a Table); none = as is.
  std::function<Json(const Json&)> transform;
};

// The event as the watch must see it, or nullopt when it is filtered out.
std::optional<StoredEvent> FilterEvent(const StoredEvent& ev, const LabelSelector& labels,
                                       const FieldSelector& fields);

class WatchStream {
 public:
  WatchStream(Store* store, Controls* controls, std::shared_ptr<WatchQueue> queue,
              std::vector<StoredEvent> backlog, WatchOptions options);

  StreamEnd Run(ChunkSink& sink);

 private:
  bool Send(ChunkSink& sink, const std::vector<StoredEvent>& events);

  Store* store_;
  Controls* controls_;
  std::shared_ptr<WatchQueue> queue_;
  std::vector<StoredEvent> backlog_;
  WatchOptions options_;
};

// The single line of an in-stream ERROR event carrying `status`.
std::string ErrorEventLine(const Json& status);

}  // namespace amsha::standin

#endif  // AMS_HA_TESTS_STANDIN_WATCH_STREAM_H_
