// A fixed pool of worker threads; each worker is one executor slot.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "vgpu/sdk/executor.hpp"

namespace vgpu::executors {

class CpuExecutor final : public sdk::Executor {
 public:
  explicit CpuExecutor(unsigned workers);
  ~CpuExecutor() override;
  sdk::ExecutorInfo info() const override;
  void execute(sdk::JobPtr job, sdk::DoneCallback done) override;
  void stop() override;

 private:
  struct Task {
    sdk::JobPtr job;
    sdk::DoneCallback done;
  };
  void worker_loop();

  unsigned workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vgpu::executors
