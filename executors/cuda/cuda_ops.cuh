// The built-in ops as CUDA work on one stream. Inputs and outputs pass through the slot's pinned
// staging buffer. Errors come back as CudaError naming the CUDA call and its error text.
#pragma once

#include <chrono>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
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
  CudaError(const std::string& message, cudaError_t e) : std::runtime_error(message), code(e) {}
  cudaError_t code;
};

void check(cudaError_t e, const char* what);

// Errors after which the context is unusable until it is destroyed (cudaDeviceReset).
bool is_sticky(cudaError_t e);

// Page-locked host memory that inputs and outputs are copied through in chunks, so every
// host<->device copy is a true asynchronous DMA and the client's buffers need no pinning.
struct PinnedStaging {
  void* data = nullptr;
  std::size_t bytes = 0;
};

// What one executor slot owns inside one SM partition: a stream per priority, a cuBLAS handle,
// timing events.
struct SlotResources {
  cudaStream_t streams[3] = {};  // index = priority (0 low, 1 medium, 2 high)
  cublasHandle_t blas = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  int sm_count = 0;              // SMs of the partition: spin's default block count
  int max_shared_per_block = 0;  // for spin's exclusive=1 (one block fills an SM)
};

struct OpOptions {
  bool fault_injection = false;  // enables the `fault` op (an illegal address: a sticky error)
  // `busy_poll_us`: an idle slot worker watches for the next job this long before sleeping
  // (sdk::WorkerPool), and a job's end is polled for this long before blocking in the driver.
  // How the driver waits depends on the context's scheduling flags (a green context's may
  // block), and a blocked thread's wake-up costs more than a short job.
  std::chrono::microseconds busy_poll{0};
  // `low_slice_us`: below high priority, `spin` and `work` run as launches of at most this long
  // (sliced_ops.cuh); 0 = one launch per job.
  std::chrono::microseconds low_slice{0};
  double work_ns_per_iter = 0;  // measured when the executor starts, for slicing `work`
};

// The vector_add kernel by itself, for benchmarks that compare it with a device-to-device copy.
void launch_vector_add(const float* a, const float* b, float* c, std::size_t n, cudaStream_t s);

// Device memory the job allocates, for quota checks before anything is allocated.
std::uint64_t device_footprint(const sdk::Job& job);

// Runs `job` on `stream`, measuring device time with events. Throws sdk::ops::OpError for bad
// input and CudaError for CUDA failures.
sdk::JobResult run_cuda_op(const sdk::Job& job, SlotResources& slot, cudaStream_t stream,
                           PinnedStaging& staging, const OpOptions& options);

}  // namespace vgpu::executors::cuda
