#include "common/backoff.h"

#include <algorithm>

namespace amsha {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      rng_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  int64_t delay = initial_.count();
  for (int i = 0; i < attempt_ && delay < max_.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, max_.count());
  ++attempt_;
  std::uniform_int_distribution<int64_t> jitter(delay / 2, delay);
  return std::chrono::milliseconds(jitter(rng_));
}

}  // namespace amsha
