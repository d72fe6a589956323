// A simulated workload: VMs with pool, priority and weight, and how each VM sends jobs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace vgpu::sim {

struct SimVm {
  std::uint32_t vm_id = 0;
  std::string name;
  std::string pool = "A";
  int priority = 1;
  double weight = 1;
};

// How one VM sends jobs.
struct Source {
  enum class Kind { closed, poisson, burst, trace } kind = Kind::closed;
  std::uint32_t vm_id = 0;
  unsigned inflight = 1;            // closed: jobs kept outstanding
  double rate_per_s = 0;            // poisson: mean arrivals per second
  double at_s = 0;                  // burst: when
  unsigned count = 0;               // burst: how many
  double start_s = 0, stop_s = -1;  // active window (-1: the whole run)
  double job_us = 1000;             // mean job duration
  double jitter = 0;                // durations uniform in job_us * [1 - jitter, 1 + jitter]
  double deadline_ms = 0;           // each job must finish this long after it arrives (0: none)
  std::vector<std::pair<double, double>> trace;  // trace: (arrival s, duration us)
};

struct Workload {
  unsigned slots = 1;
  double duration_s = 10;
  std::uint64_t seed = 1;
  std::map<std::string, double> pool_weights;
  std::vector<SimVm> vms;
  std::vector<Source> sources;
};

// YAML (see sim/workloads/*.yaml) or CSV (arrival_s,vm_id,pool,priority,weight,duration_us).
// Errors name the file, line and what is wrong.
Workload load_workload(const std::filesystem::path& file);
Workload parse_workload_yaml(const std::string& text, const std::string& source);
Workload parse_workload_csv(const std::string& text, const std::string& source);

}  // namespace vgpu::sim
