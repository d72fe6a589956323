// What a guest's matrix product (cuda_calls::BlasGemm) may touch, worked out before the host's
// cuBLAS runs it: each of A, B and C as one byte range from its pointer, so the session can check
// the range lies in memory the VM owns. Every size and product is checked for overflow; the
// types and operations allowed are a closed list.
#pragma once

#include <cstdint>
#include <string>

#include "vgpu/protocol/cuda_calls.hpp"

namespace vgpu::executors::cuda::remote {

struct GemmExtents {
  // Bytes from each matrix's pointer to the end of its last element, over the whole batch; 0
  // for a matrix with no elements (A and B when k == 0). C always counts: beta may read it.
  std::uint64_t a_bytes = 0, b_bytes = 0, c_bytes = 0;
};

// The extents, or a message naming what is wrong (an empty `why` means acceptable).
GemmExtents gemm_extents(const cuda_calls::BlasGemm& g, std::string& why);

}  // namespace vgpu::executors::cuda::remote
