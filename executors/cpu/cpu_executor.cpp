#include "cpu_executor.hpp"

#include "cpu_ops.hpp"
#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors {

CpuExecutor::CpuExecutor(unsigned workers, std::chrono::microseconds busy_poll, int device)
    : workers_(workers),
      device_(device),
      pool_(
          workers,
          [this](unsigned, sdk::JobPtr job, sdk::DoneCallback done) {
            const auto start = sdk::Clock::now();
            ++busy_;
            sdk::JobResult result = run_cpu_op(*job);
            --busy_;
            result.usage.wall = sdk::Clock::now() - start;
            result.usage.device = result.usage.wall;  // the host is the device here
            done(std::move(result));
          },
          busy_poll) {}

sdk::ExecutorInfo CpuExecutor::info() const {
  const std::string which = device_ < 0 ? "cpu" : "cpu device " + std::to_string(device_);
  return {"cpu", workers_, sdk::ops::builtin_names(),
          which + " (" + std::to_string(workers_) + " worker threads)"};
}

std::vector<sdk::Reading> CpuExecutor::readings() const {
  return {{"worker_threads", "Threads that run jobs (the executor's slots)", {}, double(workers_)},
          {"busy_workers", "Threads running a job now", {}, double(busy_.load())}};
}

void CpuExecutor::execute(sdk::JobPtr job, sdk::DoneCallback done) {
  pool_.submit(std::move(job), std::move(done));
}

}  // namespace vgpu::executors
