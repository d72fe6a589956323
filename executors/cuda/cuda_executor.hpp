// The GPU executor: one host worker per slot, each with its own CUDA streams (one per priority,
// at the device's stream priorities) and cuBLAS handle. A VM's priority picks the stream, so
// the hardware block scheduler favours high-priority work too.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda_ops.cuh"
#include "vgpu/sdk/executor.hpp"

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
  struct Task {
    sdk::JobPtr job;
    sdk::DoneCallback done;
  };
  void worker_loop(unsigned index);

  CudaExecutorOptions options_;
  std::string device_name_;
  int stream_priorities_[3] = {};
  std::vector<SlotResources> slots_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vgpu::executors::cuda
