// Streams and events, as in the CUDA samples' simpleStreams: four streams each copy in a
// quarter of the data, scale it and copy it back, overlapping one another; events time it.
#include <cstdio>
#include <vector>

#include "sample_check.cuh"

__global__ void scale(float* x, int n, float factor, int repeat) {
  const int i = blockDim.x * blockIdx.x + threadIdx.x;
  if (i >= n) return;
  float v = x[i];
  for (int r = 0; r < repeat; ++r) v = v * factor + 1.0f / (r + 1);
  x[i] = v;
}

int main() {
  const int streams_count = 4, n = 1 << 22, part = n / streams_count;
  float* host = nullptr;
  CHECK(cudaMallocHost(&host, n * sizeof(float)));
  for (int i = 0; i < n; ++i) host[i] = float(i % 1000) / 1000.0f;
  float* dev;
  CHECK(cudaMalloc(&dev, n * sizeof(float)));
  int least = 0, greatest = 0;
  CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
  cudaStream_t streams[streams_count];
  for (int s = 0; s < streams_count; ++s)
    CHECK(cudaStreamCreateWithPriority(&streams[s], cudaStreamNonBlocking,
                                       s == 0 ? greatest : least));
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  CHECK(cudaEventRecord(start, 0));
  for (int s = 0; s < streams_count; ++s) {
    float* d = dev + s * part;
    CHECK(cudaMemcpyAsync(d, host + s * part, part * sizeof(float), cudaMemcpyHostToDevice,
                          streams[s]));
    scale<<<(part + 255) / 256, 256, 0, streams[s]>>>(d, part, 0.999f, 200);
    CHECK(cudaMemcpyAsync(host + s * part, d, part * sizeof(float), cudaMemcpyDeviceToHost,
                          streams[s]));
  }
  for (int s = 0; s < streams_count; ++s) CHECK(cudaStreamSynchronize(streams[s]));
  CHECK(cudaEventRecord(stop, 0));
  CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, start, stop));
  int priority0 = 0;
  CHECK(cudaStreamGetPriority(streams[0], &priority0));
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += host[i];
  const float sample = host[4242];
  for (int s = 0; s < streams_count; ++s) CHECK(cudaStreamDestroy(streams[s]));
  CHECK(cudaEventDestroy(start));
  CHECK(cudaEventDestroy(stop));
  CHECK(cudaFree(dev));
  CHECK(cudaFreeHost(host));
  std::printf(
      "streams_events: streams=%d sum=%.3f host[4242]=%.6f elapsed_positive=%s "
      "first_stream_has_greatest_priority=%s\n",
      streams_count, sum, double(sample), ms > 0 ? "yes" : "no",
      priority0 == greatest ? "yes" : "no");
  std::printf("PASSED\n");
  return 0;
}
