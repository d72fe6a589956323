// What a CUDA program pays for running through libvgpu-cuda: async launch throughput,
// launch+sync latency, and copy bandwidth (pageable and pinned, both directions). Run it
// natively and remotely in the same session (bench/gpu_remote_cuda.sh) and compare. Prints one
// JSON object.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#define CHECK(call)                                                  \
  do {                                                               \
    cudaError_t e_ = (call);                                         \
    if (e_ != cudaSuccess) {                                         \
      std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorName(e_)); \
      return 1;                                                      \
    }                                                                \
  } while (0)

__global__ void empty_kernel(int* p) {
  if (p && threadIdx.x == 1024) *p = 0;  // never true: keeps the parameter used
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int main() {
  CHECK(cudaFree(nullptr));  // start-up outside the measurements
  cudaStream_t stream;
  CHECK(cudaStreamCreate(&stream));
  // Async launch throughput: many launches, one synchronization.
  const int launches = 50000;
  empty_kernel<<<1, 32, 0, stream>>>(nullptr);
  CHECK(cudaStreamSynchronize(stream));
  auto t = Clock::now();
  for (int i = 0; i < launches; ++i) empty_kernel<<<1, 32, 0, stream>>>(nullptr);
  CHECK(cudaStreamSynchronize(stream));
  const double launches_per_s = launches / seconds_since(t);
  // Launch + sync latency.
  std::vector<double> round_trips;
  for (int i = 0; i < 3000; ++i) {
    t = Clock::now();
    empty_kernel<<<1, 32, 0, stream>>>(nullptr);
    CHECK(cudaStreamSynchronize(stream));
    round_trips.push_back(seconds_since(t) * 1e6);
  }
  std::sort(round_trips.begin(), round_trips.end());
  const double sync_p50 = round_trips[round_trips.size() / 2];
  const double sync_p99 = round_trips[round_trips.size() * 99 / 100];
  // Copies: 64 MiB, five times each way, pageable then pinned.
  const std::size_t bytes = 64u << 20;
  void* device;
  CHECK(cudaMalloc(&device, bytes));
  std::vector<char> pageable(bytes, 1);
  char* pinned;
  CHECK(cudaMallocHost(&pinned, bytes));
  auto bandwidth = [&](void* dst, const void* src, cudaMemcpyKind kind) {
    cudaMemcpy(dst, src, bytes, kind);  // warm-up
    const auto start = Clock::now();
    for (int i = 0; i < 5; ++i) cudaMemcpy(dst, src, bytes, kind);
    cudaDeviceSynchronize();
    return 5.0 * bytes / seconds_since(start) / 1e9;
  };
  const double h2d_pageable = bandwidth(device, pageable.data(), cudaMemcpyHostToDevice);
  const double d2h_pageable = bandwidth(pageable.data(), device, cudaMemcpyDeviceToHost);
  const double h2d_pinned = bandwidth(device, pinned, cudaMemcpyHostToDevice);
  const double d2h_pinned = bandwidth(pinned, device, cudaMemcpyDeviceToHost);
  CHECK(cudaGetLastError());
  // The bytes must arrive as sent, both ways (a bandwidth from a broken path means nothing).
  for (std::size_t i = 0; i < bytes; ++i) pageable[i] = static_cast<char>(i * 7 + (i >> 20));
  CHECK(cudaMemcpy(device, pageable.data(), bytes, cudaMemcpyHostToDevice));
  std::fill(pinned, pinned + bytes, 0);
  CHECK(cudaMemcpy(pinned, device, bytes, cudaMemcpyDeviceToHost));
  if (!std::equal(pinned, pinned + bytes, pageable.begin())) {
    std::fprintf(stderr, "the bytes copied back differ from those sent\n");
    return 1;
  }
  std::printf(
      "{\"launches_per_s\": %.0f, \"launch_sync_p50_us\": %.2f, "
      "\"launch_sync_p99_us\": %.2f, \"h2d_pageable_gbs\": %.3f, "
      "\"d2h_pageable_gbs\": %.3f, \"h2d_pinned_gbs\": %.3f, \"d2h_pinned_gbs\": %.3f}\n",
      launches_per_s, sync_p50, sync_p99, h2d_pageable, d2h_pageable, h2d_pinned, d2h_pinned);
  return 0;
}
