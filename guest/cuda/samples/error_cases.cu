// The errors a CUDA program must see as it would on a real driver: a launch with too many
// threads, an allocation the device cannot hold, and (last, since it ends the context) a kernel
// writing out of bounds, after which every call fails.
#include <cstdio>

#include "sample_check.cuh"

__global__ void touch(int* p, long long offset) {
  p[offset] = 1;
}

int main() {
  int* d = nullptr;
  CHECK(cudaMalloc(&d, 1024 * sizeof(int)));

  touch<<<1, 2048>>>(d, 0);  // more threads than a block may have
  std::printf("too many threads: launch %s\n", cudaGetErrorName(cudaGetLastError()));
  std::printf("too many threads: then sync %s\n", cudaGetErrorName(cudaDeviceSynchronize()));

  touch<<<dim3(1, 1, 1 << 20), 1>>>(d, 0);  // grid z past its limit
  std::printf("grid too deep: launch %s\n", cudaGetErrorName(cudaGetLastError()));

  void* huge = nullptr;
  std::printf("one PiB: %s\n", cudaGetErrorName(cudaMalloc(&huge, std::size_t(1) << 50)));
  std::printf("after that: %s\n", cudaGetErrorName(cudaGetLastError()));

  touch<<<1, 1>>>(d, 5);
  std::printf("in bounds: %s\n", cudaGetErrorName(cudaDeviceSynchronize()));

  touch<<<1, 1>>>(d, 1ll << 36);  // far outside any allocation
  std::printf("launch out of bounds: %s\n", cudaGetErrorName(cudaGetLastError()));
  std::printf("out of bounds: sync %s\n", cudaGetErrorName(cudaDeviceSynchronize()));
  int* again = nullptr;
  std::printf("after the fault: malloc %s\n", cudaGetErrorName(cudaMalloc(&again, 16)));
  std::printf("DONE\n");
  return 0;
}
