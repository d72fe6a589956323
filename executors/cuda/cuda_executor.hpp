// The GPU executor: one host worker per slot, each with its own CUDA streams (one per priority,
// at the device's stream priorities) and cuBLAS handle. A VM's priority picks the stream, so
// the hardware block scheduler favours high-priority work too.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cuda_ops.cuh"
#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/worker_pool.hpp"

namespace vgpu::executors::cuda {

struct CudaExecutorOptions {
  int device = 0;
  unsigned slots = 4;
};

class CudaExecutor final : public sdk::Executor {
 public:
  // Throws sdk::ExecutorUnavailable when there is no usable CUDA device.
  explicit CudaExecutor(CudaExecutorOptions options);
  ~CudaExecutor() override;
  sdk::ExecutorInfo info() const override;
  void execute(sdk::JobPtr job, sdk::DoneCallback done) override;
  void stop() override;

  // The CUDA stream priority used for each vgpu priority (0 low, 1 medium, 2 high).
  int stream_priority(int vgpu_priority) const { return stream_priorities_[vgpu_priority]; }

 private:
  void run(unsigned slot, sdk::JobPtr job, sdk::DoneCallback done);

  CudaExecutorOptions options_;
  std::string device_name_;
  int stream_priorities_[3] = {};
  std::vector<SlotResources> slots_;
  std::unique_ptr<sdk::WorkerPool> pool_;  // started once the slots exist
};

}  // namespace vgpu::executors::cuda
