// The door the guest's cuBLAS (guest/cuda/cublas) uses into this driver: a matrix product becomes a
// call in the program's batch, run by the host's cuBLAS in the session (docs/remote-cuda.md,
// "cuBLAS on the host"). Like a launch it does not wait: errors surface at the next
// synchronizing call.
#include "driver_state.hpp"
#include "vgpu/protocol/cuda_calls.hpp"

extern "C" {

// The product `g` with its stream field ignored, on the program's stream `stream`.
CUresult vgpu_cuda_blas_gemm(const vgpu::cuda_calls::BlasGemm* g, CUstream stream) {
  if (!g) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  vgpu::cuda_calls::BlasGemm call = *g;
  if (!drv.host_stream(stream, call.stream)) return CUDA_ERROR_INVALID_HANDLE;
  return drv.link.record(call);
}

}  // extern "C"
