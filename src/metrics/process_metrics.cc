#include "metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace heliosdb::cdc::metrics {
namespace {

std::optional<std::string> slurp(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<double> boot_time_seconds() {
  auto text = slurp("/proc/stat");
  if (!text) return std::nullopt;
  size_t pos = text->find("\nbtime ");
  if (pos == std::string::npos) return std::nullopt;
  return std::strtod(text->c_str() + pos + 7, nullptr);
}

double count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return 0;
  double n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the descriptor of the directory being read
}

}  // namespace

std::optional<ProcessSample> read_process_sample() {
  auto stat = slurp("/proc/self/stat");
  if (!stat) return std::nullopt;
  // Field 2 (comm) is in parentheses and may contain spaces: parse after ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat->substr(close + 2));
  std::vector<std::string> fields;  // fields[0] is field 3 (state)
  std::string f;
  while (in >> f) fields.push_back(f);
  // Fields used (1-based, proc(5)): 14 utime, 15 stime, 22 starttime, 23 vsize, 24 rss.
  auto field = [&](int n) { return std::strtod(fields[n - 3].c_str(), nullptr); };
  if (fields.size() < 22) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  ProcessSample s;
  s.cpu_seconds = (field(14) + field(15)) / ticks;
  s.virtual_memory_bytes = field(23);
  s.resident_memory_bytes = field(24) * page;
  if (auto boot = boot_time_seconds()) s.start_time_seconds = *boot + field(22) / ticks;
  s.open_fds = count_open_fds();
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) s.max_fds = static_cast<double>(lim.rlim_cur);
  return s;
}

}  // namespace heliosdb::cdc::metrics
