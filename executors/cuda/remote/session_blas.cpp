#include "session_blas.hpp"

#include <dlfcn.h>

#include <cstdint>
#include <string>

namespace vgpu::executors::cuda::remote {

namespace {
// cuBLAS's entry points, by the prototypes of cublas_api.h (v2), with its enums as ints so that
// this file needs only <cuda.h>.
using Handle = void*;
using Status = int;
struct Cublas {
  Status (*create)(Handle*) = nullptr;
  Status (*destroy)(Handle) = nullptr;
  Status (*set_stream)(Handle, CUstream) = nullptr;
  Status (*set_math_mode)(Handle, int) = nullptr;
  Status (*gemm_ex)(Handle, int, int, int, int, int, const void*, const void*, int, int,
                    const void*, int, int, const void*, void*, int, int, int, int) = nullptr;
  Status (*gemm_strided_batched_ex)(Handle, int, int, int, int, int, const void*, const void*, int,
                                    int, long long, const void*, int, int, long long, const void*,
                                    void*, int, int, long long, int, int, int) = nullptr;
  const char* (*status_name)(Status) = nullptr;
  std::string missing;  // why cuBLAS cannot be used here, empty when it can
};

const Cublas& cublas() {
  static const Cublas c = [] {
    Cublas c;
    void* lib = dlopen("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      c.missing = std::string("the host has no cuBLAS 13 (") + dlerror() + ")";
      return c;
    }
    const auto take = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn && c.missing.empty()) c.missing = std::string("the host's cuBLAS lacks ") + name;
    };
    take(c.create, "cublasCreate_v2");
    take(c.destroy, "cublasDestroy_v2");
    take(c.set_stream, "cublasSetStream_v2");
    take(c.set_math_mode, "cublasSetMathMode");
    take(c.gemm_ex, "cublasGemmEx");
    take(c.gemm_strided_batched_ex, "cublasGemmStridedBatchedEx");
    take(c.status_name, "cublasGetStatusName");
    return c;
  }();
  return c;
}

CUresult failed(const Cublas& c, const char* what, Status s, std::string& message) {
  message = std::string(what) + ": " + (c.status_name ? c.status_name(s) : std::to_string(s));
  // CUBLAS_STATUS_INVALID_VALUE (7) and NOT_SUPPORTED (15) are the caller's; the rest the host's.
  return s == 7 || s == 15 ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_UNKNOWN;
}
}  // namespace

void SessionBlas::release() {
  if (handle_) cublas().destroy(handle_);
  handle_ = nullptr;
}

CUresult SessionBlas::gemm(const cuda_calls::BlasGemm& g, CUstream stream, std::string& message) {
  const auto& c = cublas();
  if (!c.missing.empty()) {
    message = c.missing;
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  if (!handle_)
    if (Status s = c.create(&handle_)) return failed(c, "cublasCreate", s, message);
  if (Status s = c.set_stream(handle_, stream)) return failed(c, "cublasSetStream", s, message);
  if (Status s = c.set_math_mode(handle_, static_cast<int>(g.math_mode)))
    return failed(c, "cublasSetMathMode", s, message);
  const auto ta = static_cast<int>(g.trans_a), tb = static_cast<int>(g.trans_b);
  const auto* a = reinterpret_cast<const void*>(g.a);
  const auto* b = reinterpret_cast<const void*>(g.b);
  auto* out = reinterpret_cast<void*>(g.c);
  const auto type_a = static_cast<int>(g.type_a), type_b = static_cast<int>(g.type_b),
             type_c = static_cast<int>(g.type_c), compute = static_cast<int>(g.compute);
  Status s = 0;
  if (g.batch == 1)
    s = c.gemm_ex(handle_, ta, tb, g.m, g.n, g.k, g.alpha, a, type_a, g.lda, b, type_b, g.ldb,
                  g.beta, out, type_c, g.ldc, compute, g.algo);
  else
    s = c.gemm_strided_batched_ex(handle_, ta, tb, g.m, g.n, g.k, g.alpha, a, type_a, g.lda,
                                  g.stride_a, b, type_b, g.ldb, g.stride_b, g.beta, out, type_c,
                                  g.ldc, g.stride_c, g.batch, compute, g.algo);
  return s ? failed(c, g.batch == 1 ? "cublasGemmEx" : "cublasGemmStridedBatchedEx", s, message)
           : CUDA_SUCCESS;
}

}  // namespace vgpu::executors::cuda::remote
