// strict_priority: the original Phase 2 mediator. Each pool has its own queues; inside a pool
// high runs before medium before low, FIFO within a level; the pools that have work take turns,
// so one pool's backlog never holds another pool back.
//
// Optional starvation guard (aging): every `aging` a job waits raises it one level (low ->
// medium -> high); it then competes in arrival order with the jobs of that level. Off (zero) by
// default.
#pragma once

#include <functional>

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "vgpu/sdk/fifo_queue.hpp"
#include "vgpu/sdk/policy.hpp"

namespace vgpu::policies {

class StrictPriorityPolicy final : public sdk::Policy {
 public:
  using NowFn = std::function<sdk::Clock::time_point()>;
  explicit StrictPriorityPolicy(
      std::chrono::milliseconds aging = {}, NowFn now = [] { return sdk::Clock::now(); })
      : aging_(aging), now_(std::move(now)) {}

  void enqueue(sdk::JobPtr job) override;
  sdk::JobPtr dispatch(const sdk::SlotInfo& slot) override;
  sdk::JobPtr cancel(sdk::JobId id) override;
  std::size_t pending() const override { return pending_; }
  std::vector<sdk::PolicyStat> stats() const override;

 private:
  struct PoolQueues {
    std::string name;
    std::array<sdk::FifoQueue, sdk::kPriorityLevels> by_priority;  // index = priority
    std::size_t size = 0;
  };

  std::size_t pool_index(const std::string& name);
  // The queue whose front runs next in this pool, or nullptr.
  sdk::FifoQueue* next_queue(PoolQueues& pool, sdk::Clock::time_point now,
                             const std::array<bool, sdk::kPriorityLevels>& admits);

  std::chrono::milliseconds aging_;
  NowFn now_;
  std::uint64_t aged_dispatches_ = 0;

  std::vector<PoolQueues> pools_;  // in order of first appearance; pools are few
  std::unordered_map<sdk::JobId, std::size_t> pool_of_job_;
  std::size_t next_pool_ = 0;  // where the next turn starts
  std::size_t pending_ = 0;
};

}  // namespace vgpu::policies
