// A stream-ordered device buffer: cudaMallocAsync draws from the device's memory pool, and the
// free is queued behind the work that uses it.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "cuda_ops.cuh"

namespace vgpu::executors::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer(std::size_t bytes, cudaStream_t s) : stream_(s), bytes_(bytes) {
    if (bytes) check(cudaMallocAsync(&ptr_, bytes, s), "cudaMallocAsync");
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFreeAsync(ptr_, stream_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), stream_(other.stream_), bytes_(other.bytes_) {}
  template <typename T = float>
  T* get() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  cudaStream_t stream_;
  std::size_t bytes_;
};

}  // namespace vgpu::executors::cuda
