// cuBLAS on the GPU, in the style of the CUDA samples: an SGEMM, a bf16 GemmEx on tensor cores
// and a strided batched SGEMM, on small integer inputs so that every result is exact and the
// output is the same whatever algorithm cuBLAS picks. Used to find what cuBLAS asks of the
// guest's driver (docs/remote-cuda.md, "Libraries").
#include <cublas_v2.h>
#include <cuda_bf16.h>

#include "sample_check.cuh"

#include <cstdio>
#include <vector>

double checksum(const std::vector<float>& v) {
  double sum = 0;
  for (std::size_t i = 0; i < v.size(); ++i) sum += double(v[i]) * double(i % 13 + 1);
  return sum;
}

int main() {
  const int n = 512;
  std::vector<float> a(n * n), b(n * n), c(n * n);
  for (int i = 0; i < n * n; ++i) {
    a[i] = float(i % 7 - 3);
    b[i] = float(i % 5 - 2);
  }
  float *da, *db, *dc;
  CHECK(cudaMalloc(&da, sizeof(float) * n * n));
  CHECK(cudaMalloc(&db, sizeof(float) * n * n));
  CHECK(cudaMalloc(&dc, sizeof(float) * n * n));
  CHECK(cudaMemcpy(da, a.data(), sizeof(float) * n * n, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), sizeof(float) * n * n, cudaMemcpyHostToDevice));
  cublasHandle_t handle;
  CHECK_STATUS(cublasCreate(&handle));
  const float one = 1, zero = 0;
  CHECK_STATUS(
      cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, da, n, db, n, &zero, dc, n));
  CHECK(cudaMemcpy(c.data(), dc, sizeof(float) * n * n, cudaMemcpyDeviceToHost));
  std::printf("sgemm %dx%d: checksum %.1f, c[0] %.1f, c[last] %.1f\n", n, n, checksum(c), c[0],
              c[n * n - 1]);

  std::vector<__nv_bfloat16> ha(n * n), hb(n * n);
  for (int i = 0; i < n * n; ++i) {
    ha[i] = __float2bfloat16(a[i]);
    hb[i] = __float2bfloat16(b[i]);
  }
  __nv_bfloat16 *dha, *dhb;
  CHECK(cudaMalloc(&dha, sizeof(__nv_bfloat16) * n * n));
  CHECK(cudaMalloc(&dhb, sizeof(__nv_bfloat16) * n * n));
  CHECK(cudaMemcpy(dha, ha.data(), sizeof(__nv_bfloat16) * n * n, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(dhb, hb.data(), sizeof(__nv_bfloat16) * n * n, cudaMemcpyHostToDevice));
  CHECK(cudaMemset(dc, 0, sizeof(float) * n * n));
  CHECK_STATUS(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, dha, CUDA_R_16BF, n,
                            dhb, CUDA_R_16BF, n, &zero, dc, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
  CHECK(cudaMemcpy(c.data(), dc, sizeof(float) * n * n, cudaMemcpyDeviceToHost));
  std::printf("gemmex bf16 %dx%d: checksum %.1f\n", n, n, checksum(c));

  const int m = 128, batch = 8;
  CHECK_STATUS(cublasSgemmStridedBatched(handle, CUBLAS_OP_N, CUBLAS_OP_T, m, m, m, &one, da, m,
                                         m * m, db, m, m * m, &zero, dc, m, m * m, batch));
  std::vector<float> cb(m * m * batch);
  CHECK(cudaMemcpy(cb.data(), dc, sizeof(float) * cb.size(), cudaMemcpyDeviceToHost));
  std::printf("sgemm strided batched %d x %dx%d: checksum %.1f\n", batch, m, m, checksum(cb));
  CHECK_STATUS(cublasDestroy(handle));
  std::printf("PASSED\n");
  return 0;
}
