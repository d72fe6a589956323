// The `work` op's kernel (vgpu/sdk/ops.hpp): one slice of each lane's chain of fused
// multiply-adds, and after the last slice the warp's butterfly sum, in the order
// ops::work_block_sum reproduces on a CPU. Shared by the cuda executor and the GPU benchmarks'
// plain-CUDA worker, so what the benchmark's floods deliver is the same work the mediator runs.
#pragma once

#include <cstdint>

#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors::cuda {

inline constexpr unsigned kFirstSlice = 1, kLastSlice = 2;

// `which`: kFirstSlice starts each lane from its generated value (else from `state`);
// kLastSlice writes the block's sum to `sums` (else the lanes' values to `state`).
__global__ inline void work_kernel(std::uint64_t key, std::uint64_t iters, float* state,
                                   float* sums, unsigned which) {
  namespace ops = sdk::ops;
  const std::uint64_t lane = std::uint64_t(blockIdx.x) * ops::kWorkLanes + threadIdx.x;
  float x = (which & kFirstSlice) ? ops::work_start(key, lane) : state[lane];
  x = ops::work_steps(x, iters);
  if (!(which & kLastSlice)) {
    state[lane] = x;
    return;
  }
  for (unsigned offset = ops::kWorkLanes / 2; offset > 0; offset /= 2)
    x += __shfl_xor_sync(0xffffffffu, x, offset);
  if (threadIdx.x == 0) sums[blockIdx.x] = x;
}

}  // namespace vgpu::executors::cuda
