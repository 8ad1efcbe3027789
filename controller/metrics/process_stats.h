// ProcessStats: what the process costs, read from /proc for the standard
// process_* metrics (resident memory, CPU time, start time, file
// descriptors).
//
// PrometheusMetrics reads them on every scrape. The parsers are pure so that
// unit tests feed them recorded /proc text; ReadProcessStats() does the file
// I/O. Thread-safe (no state).
#ifndef AMS_HA_METRICS_PROCESS_STATS_H_
#define AMS_HA_METRICS_PROCESS_STATS_H_

#include <optional>
#include <string>

namespace amsha {

struct ProcessStats {
  double cpu_seconds = 0;         // user + system
  double resident_bytes = 0;      // RSS
  double virtual_bytes = 0;       // VSZ
  double start_time_seconds = 0;  // Unix time; 0 when unknown
  double open_fds = -1;           // -1 when unknown
  double max_fds = -1;            // the soft RLIMIT_NOFILE; -1 when unknown
};

// Parses one line of /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so fields are
// counted from the last ')'. `ticks_per_second` is sysconf(_SC_CLK_TCK),
// `page_size` sysconf(_SC_PAGESIZE), `boot_time_seconds` the btime line of
// /proc/stat (0 when unknown). nullopt when the line is malformed.
std::optional<ProcessStats> ParseProcStat(const std::string& stat_line, long ticks_per_second,
                                          long page_size, double boot_time_seconds);

// The value of the `btime` line of /proc/stat, or 0.
double ParseBootTime(const std::string& proc_stat);

// This process's figures; fields that cannot be read keep their defaults.
ProcessStats ReadProcessStats();

}  // namespace amsha

#endif  // AMS_HA_METRICS_PROCESS_STATS_H_
