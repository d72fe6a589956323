// cuBLAS's matrix products for one session (cuda_calls::BlasGemm), run by the host's own cuBLAS
// in the session's context. cuBLAS is loaded (dlopen of libcublas.so.13) at the first product
// a session asks for, so sessions that never ask pay nothing and a host without cuBLAS still
// runs everything else; its handle lives as long as the session.
#pragma once

#include <cuda.h>

#include <string>

#include "vgpu/protocol/cuda_calls.hpp"

namespace vgpu::executors::cuda::remote {

class SessionBlas {
 public:
  SessionBlas() = default;
  SessionBlas(const SessionBlas&) = delete;
  SessionBlas& operator=(const SessionBlas&) = delete;
  // Must run with the session's context current (the handle belongs to it).
  ~SessionBlas() { release(); }
  void release();

  // Runs `g` on `stream` with the session's context current. The matrices' ranges must have
  // been checked against the session's memory (blas_gemm_check.hpp). A failure sets `message`.
  CUresult gemm(const cuda_calls::BlasGemm& g, CUstream stream, std::string& message);

 private:
  void* handle_ = nullptr;  // cublasHandle_t
};

}  // namespace vgpu::executors::cuda::remote
