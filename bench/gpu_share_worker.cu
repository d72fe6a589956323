// One plain CUDA process, as a guest application would be without vgpu, for comparing GPU
// sharing schemes (time-slicing, MPS) with the mediator. Two roles:
//   flood SECONDS   launches kernels whose blocks each run 2 ms and fill every SM, back to back
//   probe SECONDS   every 10 ms launches a 50 us one-block kernel and waits for it; prints the
//                   latency percentiles (launch to completion) as one JSON line
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

__global__ void spin(unsigned long long ns) {
  unsigned long long start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

int main(int argc, char** argv) {
  if (argc < 3 || (std::strcmp(argv[1], "flood") && std::strcmp(argv[1], "probe"))) {
    std::fprintf(stderr, "usage: vgpu-gpu-share-worker flood|probe SECONDS\n");
    return 2;
  }
  const double seconds = std::atof(argv[2]);
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
  cudaStream_t s;
  if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) {
    std::fprintf(stderr, "no CUDA device\n");
    return 1;
  }
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  if (!std::strcmp(argv[1], "flood")) {
    // 32 blocks of 32 threads per SM fill its block slots; two launches stay queued.
    while (Clock::now() < until) {
      spin<<<32 * sms, 32, 0, s>>>(2'000'000);
      spin<<<32 * sms, 32, 0, s>>>(2'000'000);
      cudaStreamSynchronize(s);
    }
    return 0;
  }
  std::vector<double> us;
  auto next = Clock::now();
  while (Clock::now() < until) {
    std::this_thread::sleep_until(next);
    next += std::chrono::milliseconds(10);
    const auto t0 = Clock::now();
    spin<<<1, 32, 0, s>>>(50'000);
    cudaStreamSynchronize(s);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, std::size_t(p * us.size()))]; };
  std::printf("{\"probes\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n",
              us.size(), pct(0.5), pct(0.99), us.back());
  return 0;
}
