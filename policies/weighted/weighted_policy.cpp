#include "weighted_policy.hpp"

#include <algorithm>

namespace vgpu::policies {
namespace {
constexpr double kMinWeight = 1e-6;
}

void WeightedPolicy::enqueue(sdk::JobPtr job) {
  const auto& t = job->tenant;
  Pool& pool = pools_[t.pool];
  pool.weight = std::max(t.pool_weight, kMinWeight);  // the DB's latest values
  Vm& vm = pool.vms[t.vm_id];
  vm.weight = std::max(t.weight, kMinWeight);
  if (vm.avg_cost_ns == 0) vm.avg_cost_ns = initial_cost_ns_;
  if (pool.queued == 0) {
    pool.vtime =
        std::max(pool.vtime, busy_pools_.empty() ? pool_floor_ : busy_pools_.begin()->first);
    busy_pools_.insert({pool.vtime, t.pool});
  }
  if (vm.jobs.empty()) {
    vm.vtime = std::max(vm.vtime, pool.busy.empty() ? pool.floor : pool.busy.begin()->first);
    pool.busy.insert({vm.vtime, t.vm_id});
  }
  queued_.emplace(job->id, std::make_pair(t.pool, t.vm_id));
  vm.jobs.push(std::move(job));
  ++pool.queued;
  ++pending_;
}

// Moves a pool's and a VM's virtual time by `ns` of executor time, keeping the ordered sets of
// busy pools and VMs in step.
void WeightedPolicy::charge(Pool& pool, const std::string& pool_name, Vm& vm, std::uint32_t vm_id,
                            double ns) {
  const bool pool_busy = busy_pools_.erase({pool.vtime, pool_name}) > 0;
  pool.vtime += ns / pool.weight;
  if (pool_busy) busy_pools_.insert({pool.vtime, pool_name});
  const bool vm_busy = pool.busy.erase({vm.vtime, vm_id}) > 0;
  vm.vtime += ns / vm.weight;
  if (vm_busy) pool.busy.insert({vm.vtime, vm_id});
}

sdk::JobPtr WeightedPolicy::dispatch(const sdk::SlotInfo&) {
  if (busy_pools_.empty()) return nullptr;
  const std::string pool_name = busy_pools_.begin()->second;
  Pool& pool = pools_.at(pool_name);
  const std::uint32_t vm_id = pool.busy.begin()->second;
  Vm& vm = pool.vms.at(vm_id);
  pool_floor_ = pool.vtime;
  pool.floor = vm.vtime;
  sdk::JobPtr job = vm.jobs.pop();
  --pool.queued;
  --pending_;
  queued_.erase(job->id);
  const double estimate = vm.avg_cost_ns;
  charge(pool, pool_name, vm, vm_id, estimate);
  if (vm.jobs.empty()) pool.busy.erase({vm.vtime, vm_id});
  if (pool.queued == 0) busy_pools_.erase({pool.vtime, pool_name});
  running_.emplace(job->id, Charge{pool_name, vm_id, estimate});
  return job;
}

void WeightedPolicy::completed(const sdk::Job& job, const sdk::Usage& usage) {
  auto it = running_.find(job.id);
  if (it == running_.end()) return;
  const Charge c = it->second;
  running_.erase(it);
  Pool& pool = pools_.at(c.pool);
  Vm& vm = pool.vms.at(c.vm);
  const auto measured = usage.device.count() > 0 ? usage.device : usage.wall;
  const double cost = static_cast<double>(measured.count());
  charge(pool, c.pool, vm, c.vm, cost - c.estimate_ns);
  vm.avg_cost_ns = 0.75 * vm.avg_cost_ns + 0.25 * cost;
  vm.used_ns += cost;
  pool.used_ns += cost;
}

sdk::JobPtr WeightedPolicy::cancel(sdk::JobId id) {
  auto it = queued_.find(id);
  if (it == queued_.end()) return nullptr;
  const auto [pool_name, vm_id] = it->second;
  queued_.erase(it);
  Pool& pool = pools_.at(pool_name);
  Vm& vm = pool.vms.at(vm_id);
  sdk::JobPtr job = vm.jobs.remove(id);
  --pool.queued;
  --pending_;
  if (vm.jobs.empty()) pool.busy.erase({vm.vtime, vm_id});
  if (pool.queued == 0) busy_pools_.erase({pool.vtime, pool_name});
  return job;
}

std::vector<sdk::PolicyStat> WeightedPolicy::stats() const {
  std::vector<sdk::PolicyStat> out;
  for (const auto& [name, pool] : pools_) {
    out.push_back({"used_ms." + name, pool.used_ns / 1e6});
    for (const auto& [vm_id, vm] : pool.vms)
      out.push_back({"used_ms." + name + ".vm" + std::to_string(vm_id), vm.used_ns / 1e6});
  }
  return out;
}

}  // namespace vgpu::policies
