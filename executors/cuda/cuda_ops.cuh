// The built-in ops as CUDA work on one stream. Everything is enqueued on `stream`; the caller
// synchronises. Errors come back as CudaError naming the CUDA call and its error text.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "vgpu/sdk/job.hpp"

namespace vgpu::executors::cuda {

class CudaError : public std::runtime_error {
 public:
  CudaError(const char* what, cudaError_t e)
      : std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e)), code(e) {}
  CudaError(const char* what, cublasStatus_t s)
      : std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(int(s))),
        code(cudaErrorUnknown) {}
  cudaError_t code;
};

void check(cudaError_t e, const char* what);

// What one executor slot owns: its stream for each priority level and a cuBLAS handle.
struct SlotResources {
  cudaStream_t streams[3] = {};  // index = priority (0 low, 1 medium, 2 high)
  cublasHandle_t blas = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  int sm_count = 0;
};

// Runs `job` on `stream`, measuring device time with events. Throws sdk::ops::OpError for bad
// input and CudaError for CUDA failures.
sdk::JobResult run_cuda_op(const sdk::Job& job, SlotResources& slot, cudaStream_t stream);

}  // namespace vgpu::executors::cuda
