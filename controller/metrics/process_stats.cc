#include "metrics/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace amsha {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Entries of /proc/self/fd, minus the descriptor opendir() itself holds.
double CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;
}

}  // namespace

std::optional<ProcessStats> ParseProcStat(const std::string& stat_line, long ticks_per_second,
                                          long page_size, double boot_time_seconds) {
  size_t close = stat_line.rfind(')');
  if (close == std::string::npos || ticks_per_second <= 0) return std::nullopt;
  // After ")": field 3 (state) onwards, separated by single spaces.
  std::istringstream in(stat_line.substr(close + 1));
  std::vector<std::string> fields;
  std::string field;
  while (in >> field) fields.push_back(field);
  // Field n of the man page is fields[n - 3].
  auto at = [&](int n) -> std::optional<double> {
    size_t i = static_cast<size_t>(n - 3);
    if (i >= fields.size()) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(fields[i].c_str(), &end);
    if (end == fields[i].c_str() || *end != '\0') return std::nullopt;
    return v;
  };
  auto utime = at(14), stime = at(15), starttime = at(22), vsize = at(23), rss = at(24);
  if (!utime || !stime || !starttime || !vsize || !rss) return std::nullopt;
  ProcessStats stats;
  stats.cpu_seconds = (*utime + *stime) / ticks_per_second;
  stats.virtual_bytes = *vsize;
  stats.resident_bytes = *rss * page_size;
  if (boot_time_seconds > 0) {
    stats.start_time_seconds = boot_time_seconds + *starttime / ticks_per_second;
  }
  return stats;
}

double ParseBootTime(const std::string& proc_stat) {
  std::istringstream in(proc_stat);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  }
  return 0;
}

ProcessStats ReadProcessStats() {
  static const double boot_time = ParseBootTime(ReadFile("/proc/stat"));
  std::string stat = ReadFile("/proc/self/stat");
  ProcessStats stats = ParseProcStat(stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time)
                           .value_or(ProcessStats{});
  stats.open_fds = CountOpenFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    stats.max_fds = static_cast<double>(limit.rlim_cur);
  }
  return stats;
}

}  // namespace amsha
