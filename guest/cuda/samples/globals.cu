// Module globals, as CUDA programs use them for tables and counters: a __constant__ table set
// with cudaMemcpyToSymbol, a __device__ counter read back with cudaMemcpyFromSymbol, and the
// counter's address taken with cudaGetSymbolAddress.
#include <cstdio>
#include <vector>

#include "sample_check.cuh"

__constant__ float coefficients[16];
__device__ unsigned int touched;

__global__ void weigh(float* x, int n) {
  const int i = blockDim.x * blockIdx.x + threadIdx.x;
  if (i >= n) return;
  x[i] *= coefficients[i % 16];
  atomicAdd(&touched, 1u);
}

int main() {
  const int n = 100000;
  std::vector<float> host(n), table(16);
  for (int i = 0; i < n; ++i) host[i] = float(i % 10);
  for (int i = 0; i < 16; ++i) table[i] = 0.5f + i;
  const unsigned zero = 0;
  CHECK(cudaMemcpyToSymbol(coefficients, table.data(), sizeof(float) * 16));
  CHECK(cudaMemcpyToSymbol(touched, &zero, sizeof zero));
  float* device;
  CHECK(cudaMalloc(&device, n * sizeof(float)));
  CHECK(cudaMemcpy(device, host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  weigh<<<(n + 255) / 256, 256>>>(device, n);
  CHECK(cudaGetLastError());
  unsigned count = 0;
  CHECK(cudaMemcpyFromSymbol(&count, touched, sizeof count));
  CHECK(cudaMemcpy(host.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost));
  void* address = nullptr;
  CHECK(cudaGetSymbolAddress(&address, touched));
  unsigned again = 0;
  CHECK(cudaMemcpy(&again, address, sizeof again, cudaMemcpyDeviceToHost));
  double sum = 0;
  for (float v : host) sum += v;
  CHECK(cudaFree(device));
  const bool ok = count == unsigned(n) && again == count;
  std::printf("globals: touched=%u again=%u sum=%.3f\n", count, again, sum);
  std::printf("%s\n", ok ? "PASSED" : "FAILED");
  return ok ? 0 : 1;
}
