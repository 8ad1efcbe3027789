// PodViews: per-cluster views of one shared pod watch.
//
// One controller serves many AMS clusters; a pod watch per cluster would
// cost a watch connection, a thread and a cache per cluster. Instead one
// PodWatcher lists and watches the pods every cluster's selector needs
// (CommonSelector: the requirements all selectors share, or every pod in
// the namespace when they share none), and each cluster reads its own view,
// filtered locally with its own selector.
//
// A view is synced only once the shared watcher is: the first read after
// that builds every view from one watcher snapshot (so an empty cache never
// reads as "the pods are gone"); from then on the watcher's listener
// (Dispatch) applies each change to the views it touches, in the watcher's
// order, and wakes exactly those views: the ones the pod matches now and
// the ones it belonged to before. A change costs one selector match per
// view, never a rebuild.
//
// Callers: `run` wires PodViews between its PodWatcher and the cluster
// loops; ClusterLoop reads its view through PodSource.
// Thread safety: Snapshot/Synced of any view from any thread; Dispatch from
// the watcher's thread only; AddView/SetOnChange before the watcher starts.
#ifndef AMS_HA_KUBE_POD_VIEWS_H_
#define AMS_HA_KUBE_POD_VIEWS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kube/kube_types.h"
#include "kube/label_selector.h"
#include "kube/pod_watcher.h"

namespace amsha {

// What a cluster loop reads of its pods.
class PodSource {
 public:
  virtual ~PodSource() = default;
  // True once the pods are known (a list has succeeded).
  virtual bool Synced() const = 0;
  // The pods now, by name.
  virtual std::vector<Pod> Snapshot() const = 0;
};

// A PodSource that is a whole PodWatcher (one watch for one cluster).
class WatcherPodSource : public PodSource {
 public:
  explicit WatcherPodSource(const PodWatcher* watcher) : watcher_(watcher) {}
  bool Synced() const override { return watcher_->Synced(); }
  std::vector<Pod> Snapshot() const override { return watcher_->Snapshot(); }

 private:
  const PodWatcher* watcher_;
};

class PodViews {
 public:
  // The selector for the shared watch: the requirements that every one of
  // `selectors` contains ("" when they share none: all pods).
  static std::string CommonSelector(const std::vector<LabelSelector>& selectors);
  // A requirement written back in the selector grammar.
  static std::string Format(const LabelSelector::Requirement& requirement);

  // `watcher` must outlive the views.
  explicit PodViews(const PodWatcher* watcher);
  ~PodViews();
  PodViews(const PodViews&) = delete;
  PodViews& operator=(const PodViews&) = delete;

  // A view of the pods matching `selector`; owned by this object.
  const PodSource* AddView(LabelSelector selector);
  // Runs (on the watcher's thread) after a change to a pod of `view`.
  void SetOnChange(const PodSource* view, std::function<void()> on_change);

  // The watcher's listener.
  void Dispatch(const PodWatcher::Change& change);

 private:
  class View;
  // Builds every view from the watcher's snapshot, once, after it synced.
  // Returns whether the views are built.
  bool EnsureBuilt() const;

  const PodWatcher* watcher_;
  std::vector<std::unique_ptr<View>> views_;
  // Dispatch only: the views each pod belonged to at its last change.
  std::map<std::string, std::vector<size_t>> membership_;

  mutable std::mutex mu_;  // guards built_ and every view's pods
  mutable bool built_ = false;
};

}  // namespace amsha

#endif  // AMS_HA_KUBE_POD_VIEWS_H_
