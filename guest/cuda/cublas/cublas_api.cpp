// libvgpu-cublas: the guest's libcublas.so.13. cuBLAS 13 cannot run on the guest's driver (it
// reads the NVIDIA driver's internal objects, docs/remote-cuda.md), so this library takes its
// place: a handle is the program's settings (stream, math and pointer mode), and each matrix
// product becomes a call in the program's batch, through the guest driver's door
// (vgpu_cuda_blas_gemm), run by the host's real cuBLAS in the program's session. The products
// of the GEMM family are here; every other name of the real library answers NOT_SUPPORTED by
// name (stubs generated from the toolkit's libcublas).
#include <cublas_v2.h>
#include <cuda.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "library_facts.hpp"
#include "not_supported.hpp"
#include "vgpu/protocol/cuda_calls.hpp"

struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasAtomicsMode_t atomics = CUBLAS_ATOMICS_NOT_ALLOWED;
};

namespace {

namespace cc = vgpu::cuda_calls;

// The guest driver's door, found in the libcuda.so.1 the program has loaded.
struct Door {
  CUresult (*gemm)(const cc::BlasGemm*, CUstream) = nullptr;
  CUresult (*init)(unsigned) = nullptr;
};
const Door& door() {
  static const Door d = [] {
    Door d;
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (!lib) lib = dlopen("libcuda.so.1", RTLD_NOW);
    if (!lib) return d;
    d.gemm = reinterpret_cast<decltype(d.gemm)>(dlsym(lib, "vgpu_cuda_blas_gemm"));
    d.init = reinterpret_cast<decltype(d.init)>(dlsym(lib, "cuInit"));
    if (!d.gemm)
      std::fprintf(stderr,
                   "vgpu-cublas: the libcuda.so.1 loaded is not the vgpu guest driver "
                   "(libvgpu-cuda); this cuBLAS runs only on it\n");
    return d;
  }();
  return d;
}

std::size_t scalar_bytes(cublasComputeType_t compute) {
  switch (compute) {
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
      return 8;
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC:
      return 2;
    default:
      return 4;  // float, or int for the 32I modes
  }
}

struct Matrix {
  const void* data;
  cudaDataType type;
  int ld;
  long long stride;
};

// cuBLAS's own argument rules, answered at once as cuBLAS does; the host checks again, and
// checks the memory.
cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                    int k, const void* alpha, Matrix a, Matrix b, const void* beta, Matrix c,
                    int batch, cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  if (!h || !door().gemm) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (h->pointer_mode != CUBLAS_POINTER_MODE_HOST) {
    vgpu::guest::cublas::not_supported("a matrix product with device-side alpha and beta");
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  const int a_rows = ta == CUBLAS_OP_N ? m : k, b_rows = tb == CUBLAS_OP_N ? k : n;
  if (m < 0 || n < 0 || k < 0 || batch < 0 || !alpha || !beta || a.ld < std::max(1, a_rows) ||
      b.ld < std::max(1, b_rows) || c.ld < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  cc::BlasGemm g;
  g.a = reinterpret_cast<std::uintptr_t>(a.data);
  g.b = reinterpret_cast<std::uintptr_t>(b.data);
  g.c = reinterpret_cast<std::uintptr_t>(c.data);
  g.stride_a = a.stride;
  g.stride_b = b.stride;
  g.stride_c = c.stride;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = a.ld;
  g.ldb = b.ld;
  g.ldc = c.ld;
  g.batch = batch;
  g.trans_a = static_cast<std::uint32_t>(ta);
  g.trans_b = static_cast<std::uint32_t>(tb);
  g.type_a = static_cast<std::uint32_t>(a.type);
  g.type_b = static_cast<std::uint32_t>(b.type);
  g.type_c = static_cast<std::uint32_t>(c.type);
  g.compute = static_cast<std::uint32_t>(compute);
  g.algo = static_cast<std::int32_t>(algo);
  g.math_mode = static_cast<std::uint32_t>(h->math);
  std::memcpy(g.alpha, alpha, scalar_bytes(compute));
  std::memcpy(g.beta, beta, scalar_bytes(compute));
  switch (door().gemm(&g, reinterpret_cast<CUstream>(h->stream))) {
    case CUDA_SUCCESS:
      return CUBLAS_STATUS_SUCCESS;
    case CUDA_ERROR_NOT_INITIALIZED:
      return CUBLAS_STATUS_NOT_INITIALIZED;
    case CUDA_ERROR_INVALID_HANDLE:
    case CUDA_ERROR_INVALID_VALUE:
      return CUBLAS_STATUS_INVALID_VALUE;
    default:
      return CUBLAS_STATUS_EXECUTION_FAILED;
  }
}

// A handle's setting, written or read back as cuBLAS does (no handle: NOT_INITIALIZED; nowhere
// to put the value: INVALID_VALUE).
template <typename T>
cublasStatus_t set_setting(cublasHandle_t handle, T cublasContext::*setting, T value) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->*setting = value;
  return CUBLAS_STATUS_SUCCESS;
}
template <typename T>
cublasStatus_t get_setting(cublasHandle_t handle, T cublasContext::*setting, T* value) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!value) return CUBLAS_STATUS_INVALID_VALUE;
  *value = handle->*setting;
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  if (!door().gemm || !door().init || door().init(0) != CUDA_SUCCESS)
    return CUBLAS_STATUS_NOT_INITIALIZED;
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t, int* version) {
  if (!version) return CUBLAS_STATUS_INVALID_VALUE;
  *version = CUBLAS_VERSION;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  return vgpu::guest::cublas::version_property(type, value);
}

const char* cublasGetStatusName(cublasStatus_t status) {
  return vgpu::guest::cublas::status_name(status);
}

const char* cublasGetStatusString(cublasStatus_t status) {
  return cublasGetStatusName(status);
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  return set_setting(handle, &cublasContext::stream, stream);
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* stream) {
  return get_setting(handle, &cublasContext::stream, stream);
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  return set_setting(handle, &cublasContext::math, mode);
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  return get_setting(handle, &cublasContext::math, mode);
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode) {
  return set_setting(handle, &cublasContext::pointer_mode, mode);
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t* mode) {
  return get_setting(handle, &cublasContext::pointer_mode, mode);
}

// A preference; the host's cuBLAS keeps its default.
cublasStatus_t cublasSetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t mode) {
  return set_setting(handle, &cublasContext::atomics, mode);
}

cublasStatus_t cublasGetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t* mode) {
  return get_setting(handle, &cublasContext::atomics, mode);
}

// The host's cuBLAS uses a workspace of its own in the session; the program's is not needed.
cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void*, size_t) {
  return handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                              int n, int k, const float* alpha, const float* A, int lda,
                              const float* B, int ldb, const float* beta, float* C, int ldc) {
  return gemm(h, ta, tb, m, n, k, alpha, {A, CUDA_R_32F, lda, 0}, {B, CUDA_R_32F, ldb, 0}, beta,
              {C, CUDA_R_32F, ldc, 0}, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

cublasStatus_t cublasDgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                              int n, int k, const double* alpha, const double* A, int lda,
                              const double* B, int ldb, const double* beta, double* C, int ldc) {
  return gemm(h, ta, tb, m, n, k, alpha, {A, CUDA_R_64F, lda, 0}, {B, CUDA_R_64F, ldb, 0}, beta,
              {C, CUDA_R_64F, ldc, 0}, 1, CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT);
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                            int lda, const void* B, cudaDataType Btype, int ldb, const void* beta,
                            void* C, cudaDataType Ctype, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo) {
  return gemm(h, ta, tb, m, n, k, alpha, {A, Atype, lda, 0}, {B, Btype, ldb, 0}, beta,
              {C, Ctype, ldc, 0}, 1, compute, algo);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const float* alpha, const float* A, int lda,
                                         long long strideA, const float* B, int ldb,
                                         long long strideB, const float* beta, float* C, int ldc,
                                         long long strideC, int batch) {
  return gemm(h, ta, tb, m, n, k, alpha, {A, CUDA_R_32F, lda, strideA},
              {B, CUDA_R_32F, ldb, strideB}, beta, {C, CUDA_R_32F, ldc, strideC}, batch,
              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta,
                                         cublasOperation_t tb, int m, int n, int k,
                                         const double* alpha, const double* A, int lda,
                                         long long strideA, const double* B, int ldb,
                                         long long strideB, const double* beta, double* C, int ldc,
                                         long long strideC, int batch) {
  return gemm(h, ta, tb, m, n, k, alpha, {A, CUDA_R_64F, lda, strideA},
              {B, CUDA_R_64F, ldb, strideB}, beta, {C, CUDA_R_64F, ldc, strideC}, batch,
              CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT);
}

cublasStatus_t cublasGemmStridedBatchedEx(
    cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
    const void* alpha, const void* A, cudaDataType Atype, int lda, long long strideA, const void* B,
    cudaDataType Btype, int ldb, long long strideB, const void* beta, void* C, cudaDataType Ctype,
    int ldc, long long strideC, int batch, cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  return gemm(h, ta, tb, m, n, k, alpha, {A, Atype, lda, strideA}, {B, Btype, ldb, strideB}, beta,
              {C, Ctype, ldc, strideC}, batch, compute, algo);
}

}  // extern "C"
