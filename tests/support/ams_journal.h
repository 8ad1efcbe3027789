// AmsJournal: reads the journal that simulated AMS processes (fake-ams,
// fake-amoro-ams) append to, and answers the questions the gate exists for:
// were two AMS ever active at the same instant, who is active now, and how
// long was AMS down between one stopping and the next starting.
//
//   start <CLOCK_MONOTONIC ns> <pod>
//   stop <CLOCK_MONOTONIC ns> <pod>
//
// Every process of the machine shares CLOCK_MONOTONIC, so the lines of
// different processes compare directly. A start without its stop is an
// interval still open (the process is active, or died without a word).
// Pure functions over the file's text; thread-compatible.
#ifndef AMS_HA_TESTS_SUPPORT_AMS_JOURNAL_H_
#define AMS_HA_TESTS_SUPPORT_AMS_JOURNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace amsha::testing {

struct AmsInterval {
  std::string pod;
  int64_t start_ns = 0;
  std::optional<int64_t> stop_ns;  // nullopt: still active
};

// Appends one line ("start" or "stop", now on CLOCK_MONOTONIC, the pod) to
// the journal at `path`, synced to disk; a no-op for an empty path. What the
// simulated AMS processes write.
void AppendJournalLine(const std::string& path, const char* what, const std::string& pod);

class AmsJournal {
 public:
  static AmsJournal Parse(const std::string& text);
  static AmsJournal Read(const std::string& path);  // an absent file is empty

  const std::vector<AmsInterval>& intervals() const { return intervals_; }
  // Pods active at the end of the journal, in the order they started.
  std::vector<std::string> Active() const;
  // A description of the first instant two AMS were active at once, or ""
  // when there was none. Touching ends (a stop and a start at the same ns)
  // do not overlap.
  std::string FirstOverlap() const;
  // For each start after the first: the time since the latest stop before
  // it, when nothing was active at that start (ms). The AMS outage of each
  // failover, as a client of AMS saw it.
  std::vector<double> GapsMs() const;
  // Problems in the file itself (a stop without a start, a second start of
  // a pod that is active, unreadable lines); "" when it is well formed.
  const std::string& malformed() const { return malformed_; }

 private:
  std::vector<AmsInterval> intervals_;
  std::string malformed_;
};

}  // namespace amsha::testing

#endif  // AMS_HA_TESTS_SUPPORT_AMS_JOURNAL_H_
