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

}  // namespace

int main(int argc, char** argv) {
  const int probes = argc > 1 ? std::atoi(argv[1]) : 200;
  constexpr unsigned kFloodSlots = 4;
  executors::cuda::CudaExecutor ex({0, kFloodSlots + 1});
  const unsigned sms = 132;
  std::printf("device: %s\n", ex.info().device.c_str());

  const auto alone = probe(ex, 2, probes);

  std::atomic<bool> flooding{true};
  std::atomic<int> in_flight{0};
  std::thread flood([&] {
    while (flooding) {
      if (in_flight < int(kFloodSlots)) {
        ++in_flight;
        // 32 blocks of 32 threads per SM fill its block slots; each block runs 2 ms.
        ex.execute(spin(0, 2000, 32 * sms), [&](sdk::JobResult) { --in_flight; });
      } else {
        std::this_thread::sleep_for(50us);
      }
    }
  });
  std::this_thread::sleep_for(100ms);
  const auto same_priority = probe(ex, 0, probes);
  const auto high_priority = probe(ex, 2, probes);
  flooding = false;
  flood.join();
  ex.stop();

  std::printf("%-38s %10s %10s %12s\n", "probe (spin 50 us, 1 block)", "p50 (us)", "p99 (us)",
              "p99 / alone");
  auto row = [&](const char* name, Latency l) {
    std::printf("%-38s %10.0f %10.0f %12.2f\n", name, l.p50_us, l.p99_us, l.p99_us / alone.p99_us);
  };
  row("alone", alone);
  row("under flood, same (low) priority", same_priority);
  row("under flood, high stream priority", high_priority);
  return 0;
}
