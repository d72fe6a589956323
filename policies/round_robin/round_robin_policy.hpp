// round_robin: like strict_priority (pools take turns; high before medium before low inside a
// pool), but inside a priority level the VMs that have work take turns, one job each, so a VM
// that floods the queue cannot starve another VM of the same priority.
//
// Optional aging: every `aging` a job waits raises it one level (low -> medium -> high); a job
// that aged into a level is served before that level's next turn, oldest first. Off (zero) by
// default.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vgpu/sdk/fifo_queue.hpp"
#include "vgpu/sdk/policy.hpp"

namespace vgpu::policies {

class RoundRobinPolicy final : public sdk::Policy {
 public:
  using NowFn = std::function<sdk::Clock::time_point()>;
  explicit RoundRobinPolicy(
      std::chrono::milliseconds aging = {}, NowFn now = [] { return sdk::Clock::now(); })
      : aging_(aging), now_(std::move(now)) {}

  void enqueue(sdk::JobPtr job) override;
  sdk::JobPtr dispatch(const sdk::SlotInfo& slot) override;
  sdk::JobPtr cancel(sdk::JobId id) override;
  std::size_t pending() const override { return pending_; }
  std::vector<sdk::PolicyStat> stats() const override;

 private:
  struct VmQueue {
    sdk::FifoQueue jobs;
    bool in_ring = false;
  };
  // One priority level of one pool.
  struct Level {
    std::unordered_map<std::uint32_t, VmQueue> vms;
    std::deque<std::uint32_t> ring;  // VMs whose turn it is, in order (may hold emptied VMs)
    sdk::FifoQueue arrivals;         // every queued job of the level, oldest first (for aging)
  };
  struct Pool {
    std::string name;
    std::array<Level, sdk::kPriorityLevels> levels;
    std::size_t size = 0;
  };
  struct Location {
    std::size_t pool;
    int level;
  };

  std::size_t pool_index(const std::string& name);
  sdk::JobPtr take_turn(Level& level);
  sdk::JobPtr take_oldest(Level& level);
  sdk::JobPtr next_in_pool(Pool& pool, const std::array<bool, sdk::kPriorityLevels>& admits);

  std::chrono::milliseconds aging_;
  NowFn now_;
  std::vector<Pool> pools_;
  std::unordered_map<sdk::JobId, Location> where_;
  std::size_t next_pool_ = 0;
  std::size_t pending_ = 0;
  std::uint64_t aged_dispatches_ = 0;
};

}  // namespace vgpu::policies
