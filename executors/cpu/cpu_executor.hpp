// A fixed pool of worker threads; each worker is one executor slot.
#pragma once

#include <atomic>

#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/telemetry.hpp"
#include "vgpu/sdk/worker_pool.hpp"

namespace vgpu::executors {

// Also an sdk::Telemetry: how many of its workers run a job now (its utilisation).
class CpuExecutor final : public sdk::Executor, public sdk::Telemetry {
 public:
  // `device`: which of the host's simulated devices this instance is (`devices:` in the
  // mediator's config), shown in info(); -1 for the plain single-device executor.
  explicit CpuExecutor(unsigned workers,
                       std::chrono::microseconds busy_poll = std::chrono::microseconds::zero(),
                       int device = -1);
  sdk::ExecutorInfo info() const override;
  void execute(sdk::JobPtr job, sdk::DoneCallback done) override;
  void stop() override { pool_.stop(); }
  std::vector<sdk::Reading> readings() const override;

 private:
  unsigned workers_;
  int device_;
  std::atomic<unsigned> busy_{0};  // declared before pool_: its workers use it
  sdk::WorkerPool pool_;
};

}  // namespace vgpu::executors
