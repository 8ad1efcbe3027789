#include "standin/watch_stream.h"

#include <thread>

namespace amsha::standin {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBookmarkInterval = std::chrono::seconds(1);
constexpr auto kPollInterval = std::chrono::milliseconds(100);

bool Matches(const Json& obj, const LabelSelector& labels, const FieldSelector& fields) {
  return labels.Matches(StringMap(Field(obj, {"metadata", "labels"}))) && fields.Matches(obj);
}

std::string Line(const std::string& type, const Json& object) {
  Json ev = Json::object();
  ev["type"] = Json::string(type);
  ev["object"] = object;
  return ev.serialize() + "\n";
}

}  // namespace

std::optional<StoredEvent> FilterEvent(const StoredEvent& ev, const LabelSelector& labels,
                                       const FieldSelector& fields) {
  bool cur = ev.type != "DELETED" && Matches(ev.object, labels, fields);
  bool old = !ev.prev.is_null() && Matches(ev.prev, labels, fields);
  StoredEvent out = ev;
  if (ev.type == "DELETED") {
    if (!old) return std::nullopt;
    return out;
  }
  if (cur && old) {
    out.type = "MODIFIED";
  } else if (cur) {
    out.type = "ADDED";
  } else if (old) {
    out.type = "DELETED";
    out.object = ev.prev;
    out.object["metadata"]["resourceVersion"] = Json::string(std::to_string(ev.rv));
  } else {
    return std::nullopt;
  }
  return out;
}

std::string ErrorEventLine(const Json& status) { return Line("ERROR", status); }

WatchStream::WatchStream(Store* store, Controls* controls, std::shared_ptr<WatchQueue> queue,
                         std::vector<StoredEvent> backlog, WatchOptions options)
    : store_(store),
      controls_(controls),
      queue_(std::move(queue)),
      backlog_(std::move(backlog)),
      options_(std::move(options)) {}

bool WatchStream::Send(ChunkSink& sink, const std::vector<StoredEvent>& events) {
  std::string out;
  for (const auto& ev : events) {
    auto filtered = FilterEvent(ev, options_.labels, options_.fields);
    if (!filtered) continue;
    out += Line(filtered->type,
                options_.transform ? options_.transform(filtered->object) : filtered->object);
  }
  return sink.Write(out);
}

StreamEnd WatchStream::Run(ChunkSink& sink) {
  struct Unwatch {
    Store* store;
    std::shared_ptr<WatchQueue> queue;
    ~Unwatch() { store->Unwatch(queue); }
  } unwatch{store_, queue_};
  const auto deadline = Clock::now() + options_.timeout;
  auto last_write = Clock::now();
  std::vector<StoredEvent> pending = std::move(backlog_);
  while (true) {
    if (queue_->Cut()) return StreamEnd::kAbort;
    if (controls_->Paused()) {
      // Silent, like a stalled connection: events wait in the queue.
      if (sink.ClientGone()) return StreamEnd::kAbort;
      std::this_thread::sleep_for(kPollInterval);
      continue;
    }
    if (!pending.empty()) {
      if (!Send(sink, pending)) return StreamEnd::kAbort;
      pending.clear();
      last_write = Clock::now();
    }
    auto now = Clock::now();
    if (now >= deadline) return StreamEnd::kClean;
    auto wait = std::min<Clock::duration>(deadline - now, kPollInterval);
    pending = queue_->Wait(std::chrono::duration_cast<std::chrono::milliseconds>(wait));
    if (queue_->Cut()) return StreamEnd::kAbort;
    if (pending.empty() && options_.bookmarks && Clock::now() - last_write >= kBookmarkInterval &&
        !controls_->Paused()) {
      std::string rv = store_->BookmarkRv(*queue_);
      if (!rv.empty()) {
        Json obj = Json::object();
        obj["kind"] = Json::string(options_.kind);
        obj["apiVersion"] = Json::string("v1");
        obj["metadata"] = Json::object();
        obj["metadata"]["resourceVersion"] = Json::string(rv);
        if (!sink.Write(Line("BOOKMARK", obj))) return StreamEnd::kAbort;
        last_write = Clock::now();
      }
    }
    if (sink.ClientGone()) return StreamEnd::kAbort;
  }
}

}  // namespace amsha::standin
