// Priority down to the hardware: a short high-priority probe (spin 50 us on one block, every
// 10 ms) while the other executor slots flood the GPU with low-priority kernels whose blocks
// each run 2 ms and fill every SM. Measured in the same run: the probe alone, the probe under the
// flood on a low-priority stream (what plain sharing gives), and on the high-priority stream.
// Usage: vgpu-bench-gpu-priority [probes]   (prints a table; needs a GPU)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <future>
#include <thread>

#include "cuda_executor.hpp"

using namespace vgpu;
using namespace std::chrono_literals;

namespace {

sdk::JobPtr spin(int priority, unsigned us, unsigned blocks) {
  auto job = std::make_shared<sdk::Job>();
  job->op = "spin";
  job->tenant.priority = priority;
  job->params = {{"us", std::to_string(us)}, {"blocks", std::to_string(blocks)}};
  return job;
}

struct Latency {
  double p50_us, p99_us;
};

Latency probe(executors::cuda::CudaExecutor& ex, int priority, int count) {
  std::vector<double> us;
  for (int i = 0; i < count; ++i) {
    std::promise<void> done;
    const auto start = sdk::Clock::now();
    ex.execute(spin(priority, 50, 1), [&](sdk::JobResult) { done.set_value(); });
    done.get_future().wait();
    us.push_back(std::chrono::duration<double, std::micro>(sdk::Clock::now() - start).count());
    std::this_thread::sleep_for(10ms);
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)]};
}

// Keeps `slots` low-priority jobs in flight on `ex` until stopped.
class Flood {
 public:
  Flood(executors::cuda::CudaExecutor& ex, unsigned slots, unsigned blocks)
      : thread_([this, &ex, slots, blocks] {
          while (flooding_) {
            if (in_flight_ < int(slots)) {
              ++in_flight_;
              ex.execute(spin(0, 2000, blocks), [this](sdk::JobResult) { --in_flight_; });
            } else {
              std::this_thread::sleep_for(50us);
            }
          }
        }) {
    std::this_thread::sleep_for(100ms);
  }
  ~Flood() {
    flooding_ = false;
    thread_.join();
    while (in_flight_ > 0) std::this_thread::sleep_for(1ms);
  }

 private:
  std::atomic<bool> flooding_{true};
  std::atomic<int> in_flight_{0};
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  const int probes = argc > 1 ? std::atoi(argv[1]) : 200;
  constexpr unsigned kFloodSlots = 4;
  // 32 blocks of 32 threads per SM fill its block slots; each block runs 2 ms.
  const unsigned blocks = 32 * 132;
  executors::cuda::CudaExecutorOptions options;
  options.slots = kFloodSlots + 1;
  Latency alone, same_priority, high_priority, reserved;
  {
    executors::cuda::CudaExecutor ex(options);
    std::printf("device: %s\n", ex.info().device.c_str());
    alone = probe(ex, 2, probes);
    Flood flood(ex, kFloodSlots, blocks);
    same_priority = probe(ex, 0, probes);
    high_priority = probe(ex, 2, probes);
  }
  {
    options.partitions.high_reserved_sms = 16;  // a green context only high priority runs in
    executors::cuda::CudaExecutor ex(options);
    std::printf("partitions: %s\n", ex.partitions().c_str());
    Flood flood(ex, kFloodSlots, blocks);
    reserved = probe(ex, 2, probes);
  }

  std::printf("%-44s %10s %10s %12s\n", "probe (spin 50 us, 1 block)", "p50 (us)", "p99 (us)",
              "p99 / alone");
  auto row = [&](const char* name, Latency l) {
    std::printf("%-44s %10.0f %10.0f %12.2f\n", name, l.p50_us, l.p99_us, l.p99_us / alone.p99_us);
  };
  row("alone", alone);
  row("under flood, same (low) priority", same_priority);
  row("under flood, high stream priority", high_priority);
  row("under flood, high priority + 16 reserved SMs", reserved);
  return 0;
}
