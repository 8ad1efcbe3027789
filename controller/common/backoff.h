// Backoff: exponential delays with full jitter for retry loops.
//
// Used by every loop that retries a transient failure (database outages,
// API server errors, watch reconnects). Not thread-safe: one per loop.
#ifndef AMS_HA_COMMON_BACKOFF_H_
#define AMS_HA_COMMON_BACKOFF_H_

#include <chrono>
#include <cstdint>
#include <random>

namespace amsha {

class Backoff {
 public:
  // Delays grow as initial * 2^n up to max; each is drawn uniformly from
  // [delay/2, delay] so that replicas do not retry in lockstep.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
          uint64_t seed = std::random_device{}());

  // The delay to wait before the next attempt; advances the sequence.
  std::chrono::milliseconds Next();
  // Call after a success: the next failure starts from `initial` again.
  void Reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace amsha

#endif  // AMS_HA_COMMON_BACKOFF_H_
