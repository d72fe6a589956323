// One plain CUDA process, as a guest application would be without vgpu, for comparing GPU
// sharing schemes (time-slicing, MPS, MPS with client priorities) with the mediator. Roles:
//   flood SECONDS [SHAPE ITERS BLOCKS]
//        keeps two launches queued back to back; SHAPE `spin` (the default): blocks that each
//        hold an SM slot for 2 ms on the clock; `work`: BLOCKS one-warp blocks of ITERS fused
//        multiply-adds each, the mediator's `work` op (vgpu/sdk/ops.hpp) exactly, so delivered
//        work compares. Prints {"launches", "seconds", "work"} (work = blocks * iters done).
//   probe SECONDS [high]
//        every 10 ms launches a 50 us one-block kernel and waits for it, on a stream of the
//        device's greatest priority with `high`; prints latency percentiles as one JSON line
//   together SECONDS FLOODS PROBES SHAPE ITERS BLOCKS
//        all of the above in one process: FLOODS flood threads on low-priority streams, PROBES
//        probe threads on high-priority streams; prints {"probe": ..., "flood": ...}
//   calibrate
//        nanoseconds one `work` iteration takes with every block slot busy, and the SM count
//   waits SECONDS
//        the probe (on a high-priority stream) waited for four ways in turn, one way per 10 ms:
//        `sync` (cudaStreamSynchronize, as the probe above), `query` (polling cudaStreamQuery),
//        `events-query` (timing events around the kernel, polled with cudaStreamQuery, then their
//        elapsed time: the cuda executor's way) and `events-sync` (the same, waiting with
//        cudaEventSynchronize); one JSON line per way
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "vgpu/sdk/ops.hpp"
#include "work_kernel.cuh"  // the executor's own `work` kernel

namespace ops = vgpu::sdk::ops;
using Clock = std::chrono::steady_clock;
using vgpu::executors::cuda::work_kernel;
constexpr unsigned kWhole = vgpu::executors::cuda::kFirstSlice | vgpu::executors::cuda::kLastSlice;

__global__ void spin(unsigned long long ns) {
  unsigned long long start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

namespace {

struct Flood {
  std::string shape = "spin";
  std::uint64_t iters = 0, blocks = 0;
};

struct FloodResult {
  std::uint64_t launches = 0;
  double work = 0;
};

int sm_count() {
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  return sms;
}

cudaStream_t make_stream(bool high) {
  int least = 0, greatest = 0;
  cudaDeviceGetStreamPriorityRange(&least, &greatest);
  cudaStream_t s;
  if (cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, high ? greatest : least) !=
      cudaSuccess) {
    std::fprintf(stderr, "no CUDA device\n");
    std::exit(1);
  }
  return s;
}

// Two launches stay queued; a launch counts when it completes inside the window.
FloodResult run_flood(const Flood& f, Clock::time_point until, cudaStream_t s) {
  const unsigned spin_blocks = unsigned(32 * sm_count());  // every block slot of every SM
  float* sums = nullptr;
  if (f.shape == "work") cudaMalloc(&sums, f.blocks * sizeof(float));
  auto launch = [&] {
    if (f.shape == "work")
      work_kernel<<<unsigned(f.blocks), ops::kWorkLanes, 0, s>>>(ops::generator_key(1, 0), f.iters,
                                                                 nullptr, sums, kWhole);
    else
      spin<<<spin_blocks, 32, 0, s>>>(2'000'000);
    cudaEvent_t e;
    cudaEventCreateWithFlags(&e, cudaEventDisableTiming);
    cudaEventRecord(e, s);
    return e;
  };
  FloodResult r;
  std::deque<cudaEvent_t> queued{launch(), launch()};
  while (!queued.empty()) {
    cudaEventSynchronize(queued.front());
    cudaEventDestroy(queued.front());
    queued.pop_front();
    if (Clock::now() >= until) continue;  // the window is over: drain without counting
    ++r.launches;
    queued.push_back(launch());
  }
  r.work = f.shape == "work" ? double(r.launches) * double(f.blocks) * double(f.iters) : 0;
  cudaFree(sums);
  return r;
}

std::vector<double> run_probe(Clock::time_point until, cudaStream_t s) {
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
  return us;
}

std::string probe_json(std::vector<double> us) {
  if (us.empty()) return "{\"probes\": 0}";
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, std::size_t(p * us.size()))]; };
  char text[160];
  std::snprintf(text, sizeof text,
                "{\"probes\": %zu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}",
                us.size(), pct(0.5), pct(0.99), us.back());
  return text;
}

// The `waits` role: which way of waiting for a short kernel costs what (see the header).
std::string run_waits(Clock::time_point until) {
  cudaStream_t s = make_stream(true);
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  const char* names[] = {"sync", "query", "events-query", "events-sync"};
  std::vector<double> us[4];
  auto poll = [&] {
    while (cudaStreamQuery(s) == cudaErrorNotReady) {
    }
  };
  auto next = Clock::now();
  for (unsigned i = 0; Clock::now() < until; ++i) {
    std::this_thread::sleep_until(next);
    next += std::chrono::milliseconds(10);
    const unsigned way = i % 4;
    const auto t0 = Clock::now();
    if (way >= 2) cudaEventRecord(start, s);
    spin<<<1, 32, 0, s>>>(50'000);
    if (way >= 2) cudaEventRecord(stop, s);
    if (way == 0) cudaStreamSynchronize(s);
    if (way == 1 || way == 2) poll();
    if (way == 3) cudaEventSynchronize(stop);
    if (way >= 2) {
      float ms = 0;
      cudaEventElapsedTime(&ms, start, stop);
    }
    us[way].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::string out;
  for (unsigned way = 0; way < 4; ++way)
    out += std::string("{\"way\": \"") + names[way] + "\", " + probe_json(us[way]).substr(1) + "\n";
  return out;
}

std::string flood_json(const FloodResult& r, double seconds) {
  char text[160];
  std::snprintf(text, sizeof text,
                "{\"launches\": %llu, \"seconds\": %.3f, \"launches_per_s\": %.1f, \"work\": %.6g}",
                (unsigned long long)r.launches, seconds, r.launches / seconds, r.work);
  return text;
}

double calibrate() {
  cudaStream_t s = make_stream(false);
  const unsigned blocks = unsigned(32 * sm_count());
  float* sums = nullptr;
  cudaMalloc(&sums, blocks * sizeof(float));
  constexpr std::uint64_t kIters = 20000;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  work_kernel<<<blocks, ops::kWorkLanes, 0, s>>>(1, 100, nullptr, sums, kWhole);
  cudaEventRecord(start, s);
  work_kernel<<<blocks, ops::kWorkLanes, 0, s>>>(1, kIters, nullptr, sums, kWhole);
  cudaEventRecord(stop, s);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  return double(ms) * 1e6 / double(kIters);
}

Flood flood_from(int argc, char** argv, int at) {
  Flood f;
  if (argc > at) f.shape = argv[at];
  if (argc > at + 2) {
    f.iters = std::strtoull(argv[at + 1], nullptr, 10);
    f.blocks = std::strtoull(argv[at + 2], nullptr, 10);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string role = argc > 1 ? argv[1] : "";
  if (role == "calibrate") {
    std::printf("%.4f %d\n", calibrate(), sm_count());
    return 0;
  }
  if (argc == 3 && role == "waits") {
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(std::atof(argv[2])));
    std::printf("%s", run_waits(until).c_str());
    return 0;
  }
  if (argc < 3 || (role != "flood" && role != "probe" && role != "together")) {
    std::fprintf(stderr,
                 "usage: vgpu-gpu-share-worker flood SECONDS [spin|work ITERS BLOCKS]\n"
                 "       vgpu-gpu-share-worker probe SECONDS [high]\n"
                 "       vgpu-gpu-share-worker together SECONDS FLOODS PROBES SHAPE ITERS BLOCKS\n"
                 "       vgpu-gpu-share-worker calibrate\n"
                 "       vgpu-gpu-share-worker waits SECONDS\n");
    return 2;
  }
  const double seconds = std::atof(argv[2]);
  const auto start = Clock::now();
  const auto until =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  if (role == "flood") {
    const auto r = run_flood(flood_from(argc, argv, 3), until, make_stream(false));
    std::printf("%s\n", flood_json(r, seconds).c_str());
    return 0;
  }
  if (role == "probe") {
    const bool high = argc > 3 && !std::strcmp(argv[3], "high");
    std::printf("%s\n", probe_json(run_probe(until, make_stream(high))).c_str());
    return 0;
  }
  // together: floods start first, the probes a second later, as the separate processes do.
  const int floods = argc > 3 ? std::atoi(argv[3]) : 4, probes = argc > 4 ? std::atoi(argv[4]) : 1;
  const Flood f = flood_from(argc, argv, 5);
  std::vector<FloodResult> flood_results(floods);
  std::vector<std::vector<double>> probe_results(probes);
  std::vector<std::thread> threads;
  cudaFree(nullptr);  // the context exists before the threads race to make it
  const auto flood_until = until + std::chrono::seconds(2);
  for (int i = 0; i < floods; ++i)
    threads.emplace_back(
        [&, i] { flood_results[i] = run_flood(f, flood_until, make_stream(false)); });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto probe_until = Clock::now() + (until - start);
  for (int i = 0; i < probes; ++i)
    threads.emplace_back([&, i] { probe_results[i] = run_probe(probe_until, make_stream(true)); });
  for (auto& t : threads) t.join();
  FloodResult total;
  for (const auto& r : flood_results) total.launches += r.launches, total.work += r.work;
  // The probe whose p99 is worst speaks for all of them (the same rule as the other rows).
  std::string worst;
  double worst_p99 = -1;
  for (const auto& p : probe_results) {
    const std::string one = probe_json(p);
    const auto at = one.find("\"p99_us\": ");
    const double p99 = at == std::string::npos ? 0 : std::atof(one.c_str() + at + 10);
    if (p99 > worst_p99) worst_p99 = p99, worst = one;
  }
  std::printf("{\"probe\": %s, \"flood\": %s}\n", worst.c_str(),
              flood_json(total, seconds + 2).c_str());
  return 0;
}
