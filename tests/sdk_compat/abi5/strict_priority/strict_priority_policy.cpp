#include "strict_priority_policy.hpp"

#include "vgpu/sdk/aging.hpp"

#include <algorithm>

namespace vgpu::policies {

std::size_t StrictPriorityPolicy::pool_index(const std::string& name) {
  for (std::size_t i = 0; i < pools_.size(); ++i)
    if (pools_[i].name == name) return i;
  pools_.push_back(PoolQueues{name, {}, 0});
  return pools_.size() - 1;
}

void StrictPriorityPolicy::enqueue(sdk::JobPtr job) {
  const std::size_t pool = pool_index(job->tenant.pool);
  const int level = std::clamp(job->tenant.priority, 0, sdk::kPriorityLevels - 1);
  pool_of_job_.emplace(job->id, pool);
  pools_[pool].by_priority[level].push(std::move(job));
  ++pools_[pool].size;
  ++pending_;
}

sdk::FifoQueue* StrictPriorityPolicy::next_queue(
    PoolQueues& pool, sdk::Clock::time_point now,
    const std::array<bool, sdk::kPriorityLevels>& admits) {
  // Each queue's front is its oldest job, so it has the highest effective level of its queue:
  // comparing the fronts is exact. Highest effective level wins, then the older job.
  sdk::FifoQueue* best = nullptr;
  int best_level = -1, best_own = 0;
  sdk::Clock::time_point best_time{};
  for (int level = sdk::kPriorityLevels - 1; level >= 0; --level) {
    const sdk::Job* head = pool.by_priority[level].front();
    if (!head || !admits[level]) continue;
    const int effective = sdk::aged_level(level, head->enqueued_at, now, aging_);
    if (effective > best_level || (effective == best_level && head->enqueued_at < best_time)) {
      best = &pool.by_priority[level];
      best_level = effective;
      best_own = level;
      best_time = head->enqueued_at;
    }
  }
  if (best && best_level > best_own) ++aged_dispatches_;
  return best;
}

sdk::JobPtr StrictPriorityPolicy::dispatch(const sdk::SlotInfo& slot) {
  if (pending_ == 0) return nullptr;
  const auto now = aging_.count() > 0 ? now_() : sdk::Clock::time_point{};
  for (std::size_t step = 0; step < pools_.size(); ++step) {
    const std::size_t pool = (next_pool_ + step) % pools_.size();
    PoolQueues& queues = pools_[pool];
    if (queues.size == 0) continue;
    sdk::FifoQueue* queue = next_queue(queues, now, slot.admits);
    if (!queue) continue;  // only closed levels have work in this pool
    sdk::JobPtr job = queue->pop();
    --queues.size;
    --pending_;
    pool_of_job_.erase(job->id);
    next_pool_ = (pool + 1) % pools_.size();
    return job;
  }
  return nullptr;
}

sdk::JobPtr StrictPriorityPolicy::cancel(sdk::JobId id) {
  auto it = pool_of_job_.find(id);
  if (it == pool_of_job_.end()) return nullptr;
  PoolQueues& queues = pools_[it->second];
  pool_of_job_.erase(it);
  for (auto& queue : queues.by_priority) {
    if (auto job = queue.remove(id)) {
      --queues.size;
      --pending_;
      return job;
    }
  }
  return nullptr;
}

std::vector<sdk::PolicyStat> StrictPriorityPolicy::stats() const {
  std::vector<sdk::PolicyStat> out{{"aged_dispatches", static_cast<double>(aged_dispatches_)}};
  for (const auto& pool : pools_) {
    for (int level = 0; level < sdk::kPriorityLevels; ++level)
      out.push_back({"pending." + pool.name + "." + std::to_string(level),
                     static_cast<double>(pool.by_priority[level].size())});
  }
  return out;
}

}  // namespace vgpu::policies
