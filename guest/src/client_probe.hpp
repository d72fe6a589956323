// `vgpu-client probe`: a paced latency probe from inside a VM, measured the way the host's
// vgpu-loadgen measures one (submit to result, as the guest sees it), and how fast the guest
// reads and writes its shared memory (the vgpu-stub's BAR2): a BAR the guest maps uncached costs
// every ring access a trip to memory, which the figures show.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "client.hpp"

namespace vgpu::guest {

struct ProbeOptions {
  unsigned count = 100;
  std::chrono::microseconds interval{10'000};
  bool shared = false;  // each job's output goes to the shared memory (its first page)
};

struct ProbeReport {
  std::vector<double> round_trips_us;
  unsigned failed = 0;
  std::string first_error;
};

ProbeReport run_probe(Client& client, const std::string& op,
                      const std::vector<protocol::Param>& params, const ProbeOptions& options);

struct MemorySpeed {
  double write_gb_s = 0, read_gb_s = 0;
  std::size_t bytes = 0;
};

// Writes then reads (up to) 8 MiB of `memory`; call before any job uses it.
MemorySpeed measure_memory(std::span<std::uint8_t> memory);

std::string describe_probe(const std::string& op, const ProbeReport& report,
                           const MemorySpeed* memory, bool rings);

}  // namespace vgpu::guest
