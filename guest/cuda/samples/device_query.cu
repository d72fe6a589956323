// What the CUDA samples' deviceQuery prints about the device, through the runtime API.
#include <cstdio>

#include "sample_check.cuh"

int main() {
  int count = 0;
  CHECK(cudaGetDeviceCount(&count));
  std::printf("devices: %d\n", count);
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p{};
    CHECK(cudaGetDeviceProperties(&p, d));
    int driver = 0, runtime = 0;
    CHECK(cudaDriverGetVersion(&driver));
    CHECK(cudaRuntimeGetVersion(&runtime));
    std::printf("device %d: %s\n", d, p.name);
    std::printf("  driver %d runtime %d\n", driver / 1000 * 1000 + driver % 100, runtime);
    std::printf("  compute capability %d.%d, %d SMs, warp %d\n", p.major, p.minor,
                p.multiProcessorCount, p.warpSize);
    std::printf("  global memory %zu MiB, shared per block %zu, registers per block %d\n",
                p.totalGlobalMem >> 20, p.sharedMemPerBlock, p.regsPerBlock);
    std::printf("  max threads per block %d, block %dx%dx%d, grid %dx%dx%d\n", p.maxThreadsPerBlock,
                p.maxThreadsDim[0], p.maxThreadsDim[1], p.maxThreadsDim[2], p.maxGridSize[0],
                p.maxGridSize[1], p.maxGridSize[2]);
    std::printf("  L2 %d bytes, memory bus %d bits, concurrent kernels %d, async engines %d\n",
                p.l2CacheSize, p.memoryBusWidth, p.concurrentKernels, p.asyncEngineCount);
    std::printf("  unified addressing %d, managed memory %d, ECC %d\n", p.unifiedAddressing,
                p.managedMemory, p.ECCEnabled);
    int least = 0, greatest = 0;
    CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    std::printf("  stream priorities %d..%d\n", least, greatest);
  }
  std::printf("PASSED\n");
  return 0;
}
