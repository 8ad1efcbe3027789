#include "election/controller_elector.h"

#include "common/json.h"
#include "common/logging.h"

namespace amsha {
namespace {

int64_t Nanos(MonoTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

ControllerElector::ControllerElector(ControllerConfig config, LeaseStore* store, const Clock* clock)
    : config_(std::move(config)), store_(store), clock_(clock) {}

bool ControllerElector::IsActive() const { return Nanos(clock_->Now()) < active_until_ns_.load(); }

std::string ControllerElector::ActiveIdentity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_identity_;
}

ControllerStep ControllerElector::Step() {
  ControllerStep step;
  const MonoTime start = clock_->Now();
  const bool was_active = IsActive();
  StatusOr<LeaseRecord> result = [&]() -> StatusOr<LeaseRecord> {
    if (held_) {
      return store_->Renew(key(), config_.identity, held_->version, config_.lease_duration);
    }
    LeaseHolder me{config_.identity, "",
                   Json::Object().Set("identity", config_.identity).Serialize()};
    return store_->Acquire(key(), me, config_.lease_duration);
  }();
  if (result.ok()) {
    held_ = result.value();
    active_until_ns_ = Nanos(start + config_.renew_deadline);
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_identity_ = config_.identity;
    }
    step.active = true;
    step.became_active = !was_active;
    return step;
  }
  step.status = result.status();
  if (result.status().IsConflict()) {
    // Someone else holds the row (or it moved under us): stop at once.
    held_.reset();
    active_until_ns_ = 0;
    step.lost = was_active;
    auto row = store_->Read(key());
    if (row.ok() && row.value()) {
      std::lock_guard<std::mutex> lock(mu_);
      active_identity_ = row.value()->Expired() ? "" : row.value()->node_id.value_or("");
    }
    step.status = Status::Ok();
  }
  // On other errors the deadline runs out by itself; `held_` stays, since a
  // later Renew at the same version proves nobody else took the row.
  step.active = IsActive();
  step.lost = step.lost || (was_active && !step.active);
  return step;
}

Status ControllerElector::Release() {
  active_until_ns_ = 0;
  if (!held_) return Status::Ok();
  Status s = store_->Release(key(), config_.identity, held_->version);
  held_.reset();
  return s;
}

}  // namespace amsha
