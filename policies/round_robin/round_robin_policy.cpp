#include "round_robin_policy.hpp"

#include "vgpu/sdk/aging.hpp"

#include <algorithm>

namespace vgpu::policies {

std::size_t RoundRobinPolicy::pool_index(const std::string& name) {
  for (std::size_t i = 0; i < pools_.size(); ++i)
    if (pools_[i].name == name) return i;
  pools_.push_back(Pool{name, {}, 0});
  return pools_.size() - 1;
}

void RoundRobinPolicy::enqueue(sdk::JobPtr job) {
  const std::size_t pool = pool_index(job->tenant.pool);
  const int level_index = std::clamp(job->tenant.priority, 0, sdk::kPriorityLevels - 1);
  Level& level = pools_[pool].levels[level_index];
  VmQueue& vm = level.vms[job->tenant.vm_id];
  if (!vm.in_ring) {
    vm.in_ring = true;
    level.ring.push_back(job->tenant.vm_id);
  }
  where_.emplace(job->id, Location{pool, level_index});
  level.arrivals.push(job);
  vm.jobs.push(std::move(job));
  ++pools_[pool].size;
  ++pending_;
}

sdk::JobPtr RoundRobinPolicy::take_turn(Level& level) {
  while (!level.ring.empty()) {
    const std::uint32_t vm_id = level.ring.front();
    level.ring.pop_front();
    auto vm = level.vms.find(vm_id);
    if (vm->second.jobs.empty()) {  // emptied by cancels or aging since its turn was queued
      level.vms.erase(vm);
      continue;
    }
    sdk::JobPtr job = vm->second.jobs.pop();
    if (vm->second.jobs.empty())
      level.vms.erase(vm);
    else
      level.ring.push_back(vm_id);  // back of the line
    level.arrivals.remove(job->id);
    return job;
  }
  return nullptr;
}

sdk::JobPtr RoundRobinPolicy::take_oldest(Level& level) {
  sdk::JobPtr job = level.arrivals.pop();
  level.vms[job->tenant.vm_id].jobs.remove(job->id);  // its VM keeps its place in the ring
  ++aged_dispatches_;
  return job;
}

sdk::JobPtr RoundRobinPolicy::next_in_pool(Pool& pool,
                                           const std::array<bool, sdk::kPriorityLevels>& admits) {
  if (aging_.count() <= 0) {
    for (int level = sdk::kPriorityLevels - 1; level >= 0; --level)
      if (admits[level])
        if (auto job = take_turn(pool.levels[level])) return job;
    return nullptr;
  }
  // Each level's oldest job decides how far that level's work has aged. The highest effective
  // level wins; there a job that aged into it (the oldest one) goes before the level's own turn.
  const auto now = now_();
  int best_level = -1, best_own = -1;
  sdk::Clock::time_point best_time{};
  for (int level = sdk::kPriorityLevels - 1; level >= 0; --level) {
    const sdk::Job* oldest = pool.levels[level].arrivals.front();
    if (!oldest || !admits[level]) continue;
    const int effective = sdk::aged_level(level, oldest->enqueued_at, now, aging_);
    const bool aged = effective > level;
    const bool better =
        effective > best_level || (effective == best_level && aged &&
                                   (best_own == best_level || oldest->enqueued_at < best_time));
    if (better) {
      best_level = effective;
      best_own = level;
      best_time = oldest->enqueued_at;
    }
  }
  if (best_own < 0) return nullptr;
  Level& level = pool.levels[best_own];
  return best_level > best_own ? take_oldest(level) : take_turn(level);
}

sdk::JobPtr RoundRobinPolicy::dispatch(const sdk::SlotInfo& slot) {
  if (pending_ == 0) return nullptr;
  for (std::size_t step = 0; step < pools_.size(); ++step) {
    const std::size_t index = (next_pool_ + step) % pools_.size();
    Pool& pool = pools_[index];
    if (pool.size == 0) continue;
    sdk::JobPtr job = next_in_pool(pool, slot.admits);
    if (!job) continue;  // only closed levels have work in this pool
    --pool.size;
    --pending_;
    where_.erase(job->id);
    next_pool_ = (index + 1) % pools_.size();
    return job;
  }
  return nullptr;
}

sdk::JobPtr RoundRobinPolicy::cancel(sdk::JobId id) {
  auto it = where_.find(id);
  if (it == where_.end()) return nullptr;
  Pool& pool = pools_[it->second.pool];
  Level& level = pool.levels[it->second.level];
  where_.erase(it);
  sdk::JobPtr job = level.arrivals.remove(id);
  level.vms[job->tenant.vm_id].jobs.remove(id);  // an emptied VM leaves the ring at its turn
  --pool.size;
  --pending_;
  return job;
}

std::vector<sdk::PolicyStat> RoundRobinPolicy::stats() const {
  std::vector<sdk::PolicyStat> out{{"aged_dispatches", static_cast<double>(aged_dispatches_)}};
  for (const auto& pool : pools_)
    for (int level = 0; level < sdk::kPriorityLevels; ++level)
      out.push_back({"pending." + pool.name + "." + std::to_string(level),
                     static_cast<double>(pool.levels[level].arrivals.size())});
  return out;
}

}  // namespace vgpu::policies
