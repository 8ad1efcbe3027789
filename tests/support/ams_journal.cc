#include "support/ams_journal.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

namespace amsha::testing {

void AppendJournalLine(const std::string& path, const char* what, const std::string& pod) {
  if (path.empty()) return;
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long ns = static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
  std::fprintf(f, "%s %lld %s\n", what, ns, pod.c_str());
  std::fflush(f);
  fsync(fileno(f));
  std::fclose(f);
}

AmsJournal AmsJournal::Parse(const std::string& text) {
  AmsJournal journal;
  std::map<std::string, size_t> open;  // pod -> index of its open interval
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string what, pod;
    int64_t ns = 0;
    if (!(fields >> what >> ns >> pod) || (what != "start" && what != "stop")) {
      journal.malformed_ += "line " + std::to_string(number) + ": \"" + line + "\"\n";
      continue;
    }
    auto it = open.find(pod);
    if (what == "start") {
      if (it != open.end()) {
        journal.malformed_ += "line " + std::to_string(number) + ": " + pod + " started twice\n";
      }
      open[pod] = journal.intervals_.size();
      journal.intervals_.push_back({pod, ns, std::nullopt});
    } else if (it == open.end()) {
      journal.malformed_ +=
          "line " + std::to_string(number) + ": " + pod + " stopped without a start\n";
    } else {
      journal.intervals_[it->second].stop_ns = ns;
      open.erase(it);
    }
  }
  return journal;
}

AmsJournal AmsJournal::Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str());
}

std::vector<std::string> AmsJournal::Active() const {
  std::vector<std::string> out;
  for (const AmsInterval& i : intervals_) {
    if (!i.stop_ns) out.push_back(i.pod);
  }
  return out;
}

std::string AmsJournal::FirstOverlap() const {
  std::vector<const AmsInterval*> sorted;
  for (const AmsInterval& i : intervals_) sorted.push_back(&i);
  std::sort(sorted.begin(), sorted.end(),
            [](const AmsInterval* a, const AmsInterval* b) { return a->start_ns < b->start_ns; });
  const AmsInterval* latest = nullptr;  // of the intervals so far, the one ending last
  for (const AmsInterval* i : sorted) {
    if (latest && (!latest->stop_ns || *latest->stop_ns > i->start_ns)) {
      std::string until =
          latest->stop_ns ? "until " + std::to_string(*latest->stop_ns) : "and never stopped";
      return latest->pod + " active from " + std::to_string(latest->start_ns) + " " + until + ", " +
             i->pod + " started at " + std::to_string(i->start_ns);
    }
    if (!latest || !i->stop_ns || (latest->stop_ns && *i->stop_ns > *latest->stop_ns)) latest = i;
  }
  return "";
}

std::vector<double> AmsJournal::GapsMs() const {
  std::vector<const AmsInterval*> sorted;
  for (const AmsInterval& i : intervals_) sorted.push_back(&i);
  std::sort(sorted.begin(), sorted.end(),
            [](const AmsInterval* a, const AmsInterval* b) { return a->start_ns < b->start_ns; });
  std::vector<double> gaps;
  std::optional<int64_t> last_stop;
  bool active = false;
  for (const AmsInterval* i : sorted) {
    // Anything still active when this one starts is no gap.
    active = false;
    for (const AmsInterval* j : sorted) {
      if (j == i) break;
      if (!j->stop_ns || *j->stop_ns > i->start_ns) active = true;
      if (j->stop_ns && *j->stop_ns <= i->start_ns && (!last_stop || *j->stop_ns > *last_stop)) {
        last_stop = j->stop_ns;
      }
    }
    if (!active && last_stop) gaps.push_back((i->start_ns - *last_stop) / 1e6);
  }
  return gaps;
}

}  // namespace amsha::testing
