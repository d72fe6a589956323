// fifo: jobs run in arrival order, whoever sent them. The baseline.
#pragma once

#include "vgpu/sdk/fifo_queue.hpp"
#include "vgpu/sdk/policy.hpp"

namespace vgpu::policies {

class FifoPolicy final : public sdk::Policy {
 public:
  void enqueue(sdk::JobPtr job) override { queue_.push(std::move(job)); }
  sdk::JobPtr dispatch(const sdk::SlotInfo&) override { return queue_.pop(); }
  sdk::JobPtr cancel(sdk::JobId id) override { return queue_.remove(id); }
  std::size_t pending() const override { return queue_.size(); }
  std::vector<sdk::PolicyStat> stats() const override;

 private:
  sdk::FifoQueue queue_;
};

}  // namespace vgpu::policies
