#include "cpu_executor.hpp"

#include "cpu_ops.hpp"
#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors {

CpuExecutor::CpuExecutor(unsigned workers) : workers_(workers) {
  threads_.reserve(workers);
  for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

CpuExecutor::~CpuExecutor() {
  stop();
}

sdk::ExecutorInfo CpuExecutor::info() const {
  return {"cpu", workers_, sdk::ops::builtin_names(),
          "cpu (" + std::to_string(workers_) + " worker threads)"};
}

void CpuExecutor::execute(sdk::JobPtr job, sdk::DoneCallback done) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back({std::move(job), std::move(done)});
  }
  wake_.notify_one();
}

void CpuExecutor::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();  // workers drain the queue first: every done() runs
  threads_.clear();
}

void CpuExecutor::worker_loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    const auto start = sdk::Clock::now();
    sdk::JobResult result = run_cpu_op(*task.job);
    result.usage.wall = sdk::Clock::now() - start;
    result.usage.device = result.usage.wall;  // the host is the device here
    task.done(std::move(result));
  }
}

}  // namespace vgpu::executors
