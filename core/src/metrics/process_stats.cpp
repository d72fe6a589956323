#include "process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vgpu::core::metrics {
namespace {

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats s;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  if (std::ifstream in("/proc/self/stat"); in) {
    std::string line;
    std::getline(in, line);
    // The command name (field 2) may hold spaces and parentheses: the fields after it start
    // after the last ')'. Counting from field 3 (state): utime 14, stime 15, starttime 22,
    // vsize 23, rss 24.
    const auto close = line.rfind(')');
    if (close != std::string::npos && ticks > 0) {
      std::istringstream rest(line.substr(close + 2));
      std::string field;
      std::uint64_t utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
      for (int n = 3; rest >> field && n <= 24; ++n) {
        if (n == 14) utime = std::stoull(field);
        if (n == 15) stime = std::stoull(field);
        if (n == 22) start = std::stoull(field);
        if (n == 23) vsize = std::stoull(field);
        if (n == 24) rss = std::stoull(field);
      }
      s.cpu_seconds = static_cast<double>(utime + stime) / ticks;
      s.start_time_seconds = boot_time_seconds() + static_cast<double>(start) / ticks;
      s.virtual_bytes = vsize;
      s.rss_bytes = rss * page;
    }
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++s.open_fds;
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = limit.rlim_cur;
  return s;
}

}  // namespace vgpu::core::metrics
