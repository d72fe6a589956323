// A fixed pool of worker threads; each worker is one executor slot.
#pragma once

#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/worker_pool.hpp"

namespace vgpu::executors {

class CpuExecutor final : public sdk::Executor {
 public:
  explicit CpuExecutor(unsigned workers,
                       std::chrono::microseconds busy_poll = std::chrono::microseconds::zero());
  sdk::ExecutorInfo info() const override;
  void execute(sdk::JobPtr job, sdk::DoneCallback done) override;
  void stop() override { pool_.stop(); }

 private:
  unsigned workers_;
  sdk::WorkerPool pool_;
};

}  // namespace vgpu::executors
