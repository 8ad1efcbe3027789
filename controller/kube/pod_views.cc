#include "kube/pod_views.h"

#include <algorithm>

namespace amsha {

class PodViews::View : public PodSource {
 public:
  View(const PodViews* owner, LabelSelector selector)
      : owner_(owner), selector_(std::move(selector)) {}

  bool Synced() const override { return owner_->EnsureBuilt(); }
  std::vector<Pod> Snapshot() const override {
    std::vector<Pod> out;
    if (!owner_->EnsureBuilt()) return out;
    std::lock_guard<std::mutex> lock(owner_->mu_);
    out.reserve(pods_.size());
    for (const auto& [name, pod] : pods_) out.push_back(pod);
    return out;
  }

  const LabelSelector& selector() const { return selector_; }
  std::map<std::string, Pod> pods_;  // guarded by owner_->mu_
  std::function<void()> on_change;

 private:
  const PodViews* owner_;
  LabelSelector selector_;
};

std::string PodViews::Format(const LabelSelector::Requirement& r) {
  auto joined = [&r] {
    std::vector<std::string> values = r.values;
    std::sort(values.begin(), values.end());
    std::string out;
    for (const std::string& v : values) out += (out.empty() ? "" : ",") + v;
    return out;
  };
  switch (r.op) {
    case LabelSelector::Op::kEquals:
      return r.key + "=" + (r.values.empty() ? "" : r.values[0]);
    case LabelSelector::Op::kNotEquals:
      return r.key + "!=" + (r.values.empty() ? "" : r.values[0]);
    case LabelSelector::Op::kIn:
      return r.key + " in (" + joined() + ")";
    case LabelSelector::Op::kNotIn:
      return r.key + " notin (" + joined() + ")";
    case LabelSelector::Op::kExists:
      return r.key;
    case LabelSelector::Op::kDoesNotExist:
      return "!" + r.key;
  }
  return "";
}

std::string PodViews::CommonSelector(const std::vector<LabelSelector>& selectors) {
  if (selectors.empty()) return "";
  // Requirements compared in their written-back form, so `a==b` and `a=b`
  // or `in (x,y)` and `in (y,x)` count as the same.
  auto formatted = [](const LabelSelector& s) {
    std::set<std::string> out;
    for (const auto& r : s.requirements()) out.insert(Format(r));
    return out;
  };
  std::set<std::string> common = formatted(selectors[0]);
  for (size_t i = 1; i < selectors.size() && !common.empty(); ++i) {
    std::set<std::string> next = formatted(selectors[i]);
    std::set<std::string> both;
    std::set_intersection(common.begin(), common.end(), next.begin(), next.end(),
                          std::inserter(both, both.begin()));
    common = std::move(both);
  }
  std::string out;
  for (const std::string& r : common) out += (out.empty() ? "" : ",") + r;
  return out;
}

PodViews::PodViews(const PodWatcher* watcher) : watcher_(watcher) {}
PodViews::~PodViews() = default;

const PodSource* PodViews::AddView(LabelSelector selector) {
  views_.push_back(std::make_unique<View>(this, std::move(selector)));
  return views_.back().get();
}

void PodViews::SetOnChange(const PodSource* view, std::function<void()> on_change) {
  for (auto& v : views_) {
    if (v.get() == view) v->on_change = std::move(on_change);
  }
}

bool PodViews::EnsureBuilt() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (built_) return true;
  }
  if (!watcher_->Synced()) return false;
  // A change the watcher applies after Generation() is read either is in
  // the snapshot or moves the generation, which is checked again under mu_:
  // then the build starts over. Once built_ is set under mu_, every later
  // change is applied by Dispatch (which takes mu_), in the watcher's order.
  while (true) {
    uint64_t generation = watcher_->Generation();
    std::vector<Pod> all = watcher_->Snapshot();
    std::lock_guard<std::mutex> lock(mu_);
    if (built_) return true;
    if (watcher_->Generation() != generation) continue;
    for (const Pod& pod : all) {
      for (auto& view : views_) {
        if (view->selector().Matches(pod.labels)) view->pods_[pod.name] = pod;
      }
    }
    built_ = true;
    return true;
  }
}

void PodViews::Dispatch(const PodWatcher::Change& change) {
  std::vector<size_t> now;
  if (change.type != WatchEventType::kDeleted) {
    for (size_t i = 0; i < views_.size(); ++i) {
      if (views_[i]->selector().Matches(change.pod.labels)) now.push_back(i);
    }
  }
  std::vector<size_t> woken = now;
  auto before = membership_.find(change.pod.name);
  if (before != membership_.end()) {
    woken.insert(woken.end(), before->second.begin(), before->second.end());
  } else if (change.type == WatchEventType::kDeleted) {
    // Never seen (deleted in the first list's diff): wake by its labels.
    for (size_t i = 0; i < views_.size(); ++i) {
      if (views_[i]->selector().Matches(change.pod.labels)) woken.push_back(i);
    }
  }
  if (now.empty()) {
    membership_.erase(change.pod.name);
  } else {
    membership_[change.pod.name] = now;
  }
  std::sort(woken.begin(), woken.end());
  woken.erase(std::unique(woken.begin(), woken.end()), woken.end());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (built_) {
      for (size_t i : woken) views_[i]->pods_.erase(change.pod.name);
      for (size_t i : now) views_[i]->pods_[change.pod.name] = change.pod;
    }
  }
  for (size_t i : woken) {
    if (views_[i]->on_change) views_[i]->on_change();
  }
}

}  // namespace amsha
