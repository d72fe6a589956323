// cuBLAS throughput, for comparing a program's GEMMs natively and through the guest's driver and
// cuBLAS (bench/gpu_remote_cublas.sh): SGEMM and bf16 GemmEx (tensor cores) at 4096³ and 8192³,
// and a strided batched bf16 product, each timed with CUDA events over repeated calls after a
// warm-up. Prints one line per product: its name and TFLOP/s.
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include "sample_check.cuh"

#include <cstdio>
#include <vector>

int main() {
  cublasHandle_t handle;
  CHECK_STATUS(cublasCreate(&handle));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  const float one = 1, zero = 0;
  for (int n : {4096, 8192}) {
    const std::size_t elements = std::size_t(n) * n;
    void *a, *b, *c;
    CHECK(cudaMalloc(&a, elements * 4));
    CHECK(cudaMalloc(&b, elements * 4));
    CHECK(cudaMalloc(&c, elements * 4));
    CHECK(cudaMemset(a, 0, elements * 4));
    CHECK(cudaMemset(b, 0, elements * 4));
    for (int kind = 0; kind < 2; ++kind) {
      const int reps = n == 4096 ? 20 : 5;
      const auto product = [&] {
        return kind == 0 ? cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one,
                                       static_cast<float*>(a), n, static_cast<float*>(b), n, &zero,
                                       static_cast<float*>(c), n)
                         : cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a,
                                        CUDA_R_16BF, n, b, CUDA_R_16BF, n, &zero, c, CUDA_R_32F, n,
                                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      };
      for (int i = 0; i < 3; ++i) CHECK_STATUS(product());
      CHECK(cudaEventRecord(start));
      for (int i = 0; i < reps; ++i) CHECK_STATUS(product());
      CHECK(cudaEventRecord(stop));
      CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      CHECK(cudaEventElapsedTime(&ms, start, stop));
      const double flops = 2.0 * n * double(n) * n * reps;
      std::printf("%s %d: %.1f TFLOP/s\n", kind == 0 ? "sgemm" : "gemmex_bf16", n,
                  flops / (ms * 1e-3) / 1e12);
    }
    CHECK(cudaFree(a));
    CHECK(cudaFree(b));
    CHECK(cudaFree(c));
  }
  // 64 products of 1024³ in one call.
  const int m = 1024, batch = 64;
  void *a, *b, *c;
  const std::size_t each = std::size_t(m) * m;
  CHECK(cudaMalloc(&a, each * batch * 2));
  CHECK(cudaMalloc(&b, each * batch * 2));
  CHECK(cudaMalloc(&c, each * batch * 4));
  CHECK(cudaMemset(a, 0, each * batch * 2));
  CHECK(cudaMemset(b, 0, each * batch * 2));
  const auto batched = [&] {
    return cublasGemmStridedBatchedEx(
        handle, CUBLAS_OP_N, CUBLAS_OP_N, m, m, m, &one, a, CUDA_R_16BF, m, each, b, CUDA_R_16BF, m,
        each, &zero, c, CUDA_R_32F, m, each, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  for (int i = 0; i < 3; ++i) CHECK_STATUS(batched());
  CHECK(cudaEventRecord(start));
  for (int i = 0; i < 20; ++i) CHECK_STATUS(batched());
  CHECK(cudaEventRecord(stop));
  CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, start, stop));
  std::printf("gemm_batched_bf16 64x%d: %.1f TFLOP/s\n", m,
              2.0 * m * double(m) * m * batch * 20 / (ms * 1e-3) / 1e12);
  CHECK_STATUS(cublasDestroy(handle));
  return 0;
}
