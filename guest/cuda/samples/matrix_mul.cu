// Tiled matrix multiplication in shared memory, as in the CUDA samples' matrixMul:
// C (320x640) = A (320x320) * B (320x640), checked against the CPU.
#include <cmath>
#include <cstdio>
#include <vector>

#include "sample_check.cuh"

constexpr int kTile = 32;

__global__ void matrix_mul(float* c, const float* a, const float* b, int wa, int wb) {
  __shared__ float as[kTile][kTile];
  __shared__ float bs[kTile][kTile];
  const int row = blockIdx.y * kTile + threadIdx.y, col = blockIdx.x * kTile + threadIdx.x;
  float sum = 0;
  for (int t = 0; t < wa / kTile; ++t) {
    as[threadIdx.y][threadIdx.x] = a[row * wa + t * kTile + threadIdx.x];
    bs[threadIdx.y][threadIdx.x] = b[(t * kTile + threadIdx.y) * wb + col];
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTile; ++k) sum += as[threadIdx.y][k] * bs[k][threadIdx.x];
    __syncthreads();
  }
  c[row * wb + col] = sum;
}

int main() {
  const int ha = 320, wa = 320, wb = 640;
  std::vector<float> a(ha * wa), b(wa * wb), c(ha * wb);
  for (int i = 0; i < ha * wa; ++i) a[i] = float((i * 7) % 13) / 13.0f;
  for (int i = 0; i < wa * wb; ++i) b[i] = float((i * 5) % 11) / 11.0f - 0.5f;
  float *da, *db, *dc;
  CHECK(cudaMalloc(&da, a.size() * sizeof(float)));
  CHECK(cudaMalloc(&db, b.size() * sizeof(float)));
  CHECK(cudaMalloc(&dc, c.size() * sizeof(float)));
  CHECK(cudaMemcpy(da, a.data(), a.size() * sizeof(float), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), b.size() * sizeof(float), cudaMemcpyHostToDevice));
  const dim3 threads(kTile, kTile), grid(wb / kTile, ha / kTile);
  for (int i = 0; i < 10; ++i) matrix_mul<<<grid, threads>>>(dc, da, db, wa, wb);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaMemcpy(c.data(), dc, c.size() * sizeof(float), cudaMemcpyDeviceToHost));
  double max_error = 0, sum = 0;
  for (int r = 0; r < ha; r += 7)
    for (int col = 0; col < wb; ++col) {
      double ref = 0;
      for (int k = 0; k < wa; ++k) ref += double(a[r * wa + k]) * b[k * wb + col];
      max_error = std::fmax(max_error, std::fabs(ref - c[r * wb + col]));
    }
  for (float v : c) sum += v;
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(dc));
  std::printf("matrix_mul: C=%dx%d sum=%.4f c[777]=%.6f max_error_below_1e-3=%s\n", ha, wb, sum,
              c[777], max_error < 1e-3 ? "yes" : "no");
  std::printf("%s\n", max_error < 1e-3 ? "PASSED" : "FAILED");
  return max_error < 1e-3 ? 0 : 1;
}
