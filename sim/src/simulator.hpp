// The discrete-event engine: simulated time, N executor slots, one policy. Jobs arrive from
// the workload's sources, the policy picks what runs, and each job holds a slot for its
// duration; the policy is told the measured cost on completion, as in the mediator.
#pragma once

#include <functional>
#include <memory>

#include "vgpu/sdk/policy.hpp"
#include "workload.hpp"

namespace vgpu::sim {

struct JobRecord {
  std::uint32_t vm_id;
  double arrival_s;
  double wait_s;
  double duration_s;
  bool missed_deadline;
};

struct SimResult {
  std::vector<JobRecord> jobs;  // in completion order
  double makespan_s = 0;
  double busy_s = 0;  // slot-seconds used
};

// `make_policy` gets the simulated clock, for policies that look at time (aging, deadlines).
using PolicyMaker =
    std::function<std::unique_ptr<sdk::Policy>(std::function<sdk::Clock::time_point()> now)>;

SimResult simulate(const Workload& workload, const PolicyMaker& make_policy);

}  // namespace vgpu::sim
