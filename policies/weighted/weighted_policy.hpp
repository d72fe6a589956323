// weighted: fair share of measured executor time. Pools share by their weight, and the VMs of a
// pool share the pool's part by their own weight. The algorithm is Start-time Fair Queuing
// (Goyal, Vin and Cheng, SIGCOMM 1996) applied on two levels, with virtual time advanced by
// measured cost rather than packet length (docs/policies.md):
//
//  - each pool and each VM has a virtual time: the executor time it has used divided by its
//    weight; the pool with the smallest virtual time runs next, and inside it the VM with the
//    smallest virtual time;
//  - a job is charged its VM's recent average cost when dispatched (so several slots do not all
//    go to the same VM before anything completes) and corrected to its measured cost when it
//    completes (device time when the executor reports it, else wall time);
//  - a pool or VM that becomes busy again starts at the smallest virtual time of the busy ones,
//    so idle time is not banked as credit: the scheduler is work-conserving, and an idle pool's
//    share goes to the others.
// Priorities are not used: weights are the whole contract here.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "vgpu/sdk/fifo_queue.hpp"
#include "vgpu/sdk/policy.hpp"

namespace vgpu::policies {

class WeightedPolicy final : public sdk::Policy {
 public:
  // `initial_cost`: what a VM's first job is assumed to cost until one is measured.
  explicit WeightedPolicy(std::chrono::nanoseconds initial_cost = std::chrono::milliseconds(1))
      : initial_cost_ns_(static_cast<double>(initial_cost.count())) {}

  void enqueue(sdk::JobPtr job) override;
  sdk::JobPtr dispatch(const sdk::SlotInfo& slot) override;
  void completed(const sdk::Job& job, const sdk::Usage& usage) override;
  sdk::JobPtr cancel(sdk::JobId id) override;
  std::size_t pending() const override { return pending_; }
  std::vector<sdk::PolicyStat> stats() const override;

 private:
  struct Vm {
    double weight = 1;
    double vtime = 0;
    double avg_cost_ns = 0;
    double used_ns = 0;
    sdk::FifoQueue jobs;
  };
  struct Pool {
    double weight = 1;
    double vtime = 0;
    double floor = 0;  // virtual time of the last VM served: where a returning VM starts
    double used_ns = 0;
    std::unordered_map<std::uint32_t, Vm> vms;
    std::set<std::pair<double, std::uint32_t>> busy;  // (vtime, vm) of VMs with queued jobs
    std::size_t queued = 0;
  };
  struct Charge {
    std::string pool;
    std::uint32_t vm;
    double estimate_ns;
  };

  void charge(Pool& pool, const std::string& pool_name, Vm& vm, std::uint32_t vm_id, double ns);

  double initial_cost_ns_;
  std::map<std::string, Pool> pools_;
  std::set<std::pair<double, std::string>> busy_pools_;
  double pool_floor_ = 0;
  std::unordered_map<sdk::JobId, std::pair<std::string, std::uint32_t>> queued_;
  std::unordered_map<sdk::JobId, Charge> running_;
  std::size_t pending_ = 0;
};

}  // namespace vgpu::policies
