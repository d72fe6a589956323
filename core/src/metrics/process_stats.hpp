// The mediator's own footprint, read from /proc/self: CPU time, resident memory, open
// descriptors and their limit, start time. Linux only, like the rest of the daemon.
#pragma once

#include <cstdint>

namespace vgpu::core::metrics {

struct ProcessStats {
  double cpu_seconds = 0;       // user + system
  std::uint64_t rss_bytes = 0;  // resident set
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;      // the soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // since the Unix epoch
};

// Fields that cannot be read stay 0.
ProcessStats read_process_stats();

}  // namespace vgpu::core::metrics
