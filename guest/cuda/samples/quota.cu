// Allocates in 64 MiB steps until refused, and says how far it got and with what error: under
// a VM's memory quota the refusal comes at the quota, as out of memory.
#include <cstdio>
#include <vector>

#include "sample_check.cuh"

int main(int argc, char** argv) {
  const int limit_steps = argc > 1 ? std::atoi(argv[1]) : 64;
  std::vector<void*> blocks;
  cudaError_t last = cudaSuccess;
  for (int i = 0; i < limit_steps; ++i) {
    void* p = nullptr;
    last = cudaMalloc(&p, 64u << 20);
    if (last != cudaSuccess) break;
    blocks.push_back(p);
  }
  size_t free = 0, total = 0;
  CHECK(cudaMemGetInfo(&free, &total));
  std::printf("allocated %zu MiB, then %s; device reports total %zu MiB\n", blocks.size() * 64,
              cudaGetErrorName(last), total >> 20);
  for (void* p : blocks) CHECK(cudaFree(p));
  void* p = nullptr;
  std::printf("after freeing: %s\n", cudaGetErrorName(cudaMalloc(&p, 64u << 20)));
  return 0;
}
