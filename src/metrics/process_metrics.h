// The standard process_* metrics, read from /proc/self at scrape time
// (prometheus-cpp has no process collector).
#pragma once

#include <optional>

namespace heliosdb::cdc::metrics {

struct ProcessSample {
  double cpu_seconds = 0;  // user + system CPU time
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double open_fds = 0;
  double max_fds = 0;  // soft RLIMIT_NOFILE
};

// Reads /proc/self/stat, /proc/stat (boot time) and /proc/self/fd. nullopt if
// /proc is not readable (then no process_* metrics are exported).
std::optional<ProcessSample> read_process_sample();

}  // namespace heliosdb::cdc::metrics
