// Native vs through the mediator, op by op, on the GPU. "Native" is the same CUDA code the
// executor runs (run_cuda_op on its own stream, in this process, no scheduler, no transport);
// "mediator" is a guest's round trip to a running vgpu-mediator over TCP. Also measured in the
// same run, as baselines: device-to-device copy bandwidth (for vector_add), plain cuBLAS bf16
// gemm on ready bf16 inputs (for the gemm op), and a bare launch+synchronize loop (for the
// per-job overhead).
// With --shared the output also goes into the VM's shared memory (docs/protocol.md), compared
// with the same code in-process writing its output into pinned host memory.
// Usage: vgpu-bench-gpu-ops [--port P --vm-id N [--shared]]   (without --port: native only)
#include <cuda_bf16.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "client.hpp"
#include "device_resources.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
using namespace vgpu::executors::cuda;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

template <typename F>
double median_us(int reps, F&& f) {
  std::vector<double> us;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  return median(us);
}

// Median event-timed milliseconds of `f` enqueued on `s`.
template <typename F>
float device_ms(cudaStream_t s, int reps, F&& f) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    cudaEventRecord(a, s);
    f();
    cudaEventRecord(b, s);
    cudaEventSynchronize(b);
    float t = 0;
    cudaEventElapsedTime(&t, a, b);
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return float(median(ms));
}

__global__ void empty_kernel() {}

// The same values the gemm op generates, so the plain cuBLAS baseline multiplies equal data (a
// multiply of zeros draws less power and runs at higher clocks than one of real data).
__global__ void fill_bf16(__nv_bfloat16* out, std::size_t n, std::uint64_t key) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    out[i] = __float2bfloat16_rn(sdk::ops::keyed_value(key, i));
}

// Page-locked host memory as the place for a native run's output: what the mediator's shared
// memory is once the cuda executor pinned it.
class PinnedRegion final : public sdk::SharedRegion {
 public:
  explicit PinnedRegion(std::size_t size) : size_(size) { cudaMallocHost(&base_, size); }
  ~PinnedRegion() override { cudaFreeHost(base_); }
  std::uint8_t* base() const override { return static_cast<std::uint8_t*>(base_); }
  std::size_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  void* base_ = nullptr;
  std::size_t size_;
  std::string name_ = "pinned host memory";
};

sdk::Job job_of(const std::string& op, std::vector<sdk::Param> params) {
  sdk::Job j;
  j.op = op;
  j.params = std::move(params);
  j.tenant.priority = 2;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vgpu-bench-gpu-ops: native vs through the mediator, per op"};
  std::uint16_t port = 0;
  std::uint32_t vm_id = 1;
  int reps = 20;
  unsigned spin_us = 0;
  bool shared = false;
  app.add_option("--port", port, "a running mediator's TCP port (omit: native only)");
  app.add_option("--vm-id", vm_id, "the registered VM to submit as");
  app.add_option("--reps", reps, "repetitions per measurement (median reported)");
  app.add_option("--spin-us", spin_us, "the client watches its socket this long before sleeping");
  app.add_flag("--shared", shared,
               "also run each op with its output in shared memory (the mediator's tcp transport "
               "needs shared_memory_dir and shared_memory_mb >= 256)");
  CLI11_PARSE(app, argc, argv);

  const int priorities[3] = {0, -2, -5};
  DeviceResources device(DeviceSetup{0, 1, {}, 64u << 20}, priorities);
  SlotResources& lane = device.lane(0, 0);
  PinnedStaging& staging = device.staging(0);
  cudaStream_t s = lane.streams[2];
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device: %s, %d SMs\n\n", prop.name, prop.multiProcessorCount);

  // Baseline 1: device-to-device copy bandwidth vs the vector_add kernel (read a, b; write c).
  {
    const std::size_t n = std::size_t(64) << 20;  // 64 Mi floats: 256 MiB per buffer
    float *a, *b, *c;
    cudaMalloc(&a, n * 4), cudaMalloc(&b, n * 4), cudaMalloc(&c, n * 4);
    cudaMemsetAsync(a, 0, n * 4, s), cudaMemsetAsync(b, 0, n * 4, s);
    const float copy =
        device_ms(s, reps, [&] { cudaMemcpyAsync(c, a, n * 4, cudaMemcpyDeviceToDevice, s); });
    const float add = device_ms(s, reps, [&] { launch_vector_add(a, b, c, n, s); });
    const double copy_gbs = 2.0 * n * 4 / (copy * 1e6), add_gbs = 3.0 * n * 4 / (add * 1e6);
    std::printf("%-44s %10.0f GB/s\n", "device-to-device copy (read+write)", copy_gbs);
    std::printf("%-44s %10.0f GB/s   %.2f of copy\n\n", "vector_add kernel, 64 Mi floats", add_gbs,
                add_gbs / copy_gbs);
    cudaFree(a), cudaFree(b), cudaFree(c);
  }
  // Baseline 2: plain cuBLAS bf16 gemm on bf16 inputs already on the device vs the gemm op
  // (which also generates its bf16 inputs on the device, inside its timed part).
  {
    const int n = 8192;
    __nv_bfloat16 *a, *b;
    float* c;
    cudaMalloc(&a, std::size_t(n) * n * 2), cudaMalloc(&b, std::size_t(n) * n * 2);
    cudaMalloc(&c, std::size_t(n) * n * 4);
    fill_bf16<<<4096, 256, 0, s>>>(a, std::size_t(n) * n, sdk::ops::generator_key(1, 0));
    fill_bf16<<<4096, 256, 0, s>>>(b, std::size_t(n) * n, sdk::ops::generator_key(1, 1));
    cublasSetStream(lane.blas, s);
    const float one = 1, zero = 0;
    const float plain = device_ms(s, reps, [&] {
      cublasGemmEx(lane.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, b, CUDA_R_16BF, n, a,
                   CUDA_R_16BF, n, &zero, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                   CUBLAS_GEMM_DEFAULT);
    });
    cudaFree(a), cudaFree(b), cudaFree(c);
    auto job = job_of("gemm", {{"n", std::to_string(n)}, {"precision", "bf16"}});
    std::vector<double> op_ms;
    for (int i = 0; i < std::max(3, reps / 4); ++i)
      op_ms.push_back(run_cuda_op(job, lane, s, staging, {}).usage.device.count() / 1e6);
    const double tflops = 2.0 * n * n * n / 1e12;
    std::printf("%-44s %10.0f TFLOP/s\n", "plain cuBLAS bf16 gemm 8192^3", tflops / (plain / 1e3));
    std::printf("%-44s %10.0f TFLOP/s   %.2f of plain (the op generates its inputs too)\n\n",
                "gemm op bf16 8192^3, device time", tflops / (median(op_ms) / 1e3),
                plain / median(op_ms));
  }

  std::optional<guest::Client> client;
  if (port) {
    client.emplace(guest::Client::connect("127.0.0.1", port, vm_id, "",
                                          guest::ConnectOptions{"vgpu-bench", shared}));
    client->set_spin_wait(std::chrono::microseconds(spin_us));
    if (shared) client->map_shared_memory();
  }

  // Baseline 3: per-job overhead against a bare launch + synchronize of an empty kernel.
  {
    const double bare = median_us(reps * 50, [&] {
      empty_kernel<<<1, 1, 0, s>>>();
      cudaStreamSynchronize(s);
    });
    const auto noop = job_of("noop", {});
    const double native = median_us(reps * 50, [&] { run_cuda_op(noop, lane, s, staging, {}); });
    std::printf("%-44s %10.1f us\n", "bare launch + synchronize", bare);
    std::printf("%-44s %10.1f us   +%.1f us per job\n", "noop via run_cuda_op (events, sync)",
                native, native - bare);
    if (client) {
      const double med = median_us(reps * 50, [&] { client->run("noop", {}); });
      std::printf("%-44s %10.1f us   +%.1f us per job\n", "noop through the mediator (TCP RTT)",
                  med, med - bare);
    }
    std::printf("\n");
  }

  // Native vs mediator for each op, small and large (inputs generated on the device; the
  // output comes back to the caller in both cases).
  struct Case {
    std::string name, op;
    std::vector<sdk::Param> params;
  };
  const std::vector<Case> cases = {
      {"vector_add n=4Ki", "vector_add", {{"n", "4096"}}},
      {"vector_add n=16Mi", "vector_add", {{"n", "16777216"}}},
      {"saxpy n=4Ki", "saxpy", {{"n", "4096"}}},
      {"saxpy n=16Mi", "saxpy", {{"n", "16777216"}}},
      {"reduce_sum n=4Ki", "reduce_sum", {{"n", "4096"}}},
      {"reduce_sum n=64Mi", "reduce_sum", {{"n", "67108864"}}},
      {"gemm fp32 n=256", "gemm", {{"n", "256"}}},
      {"gemm fp32 n=4096", "gemm", {{"n", "4096"}}},
      {"gemm bf16 n=256", "gemm", {{"n", "256"}, {"precision", "bf16"}}},
      {"gemm bf16 n=8192", "gemm", {{"n", "8192"}, {"precision", "bf16"}}},
      {"spin 1 ms", "spin", {{"us", "1000"}}},
  };
  // Shared-memory columns: the same op in-process with its output DMA'd into pinned host
  // memory, against the mediator writing it into the client's shared memory.
  const std::size_t largest = std::size_t(8192) * 8192 * sizeof(float);
  std::shared_ptr<PinnedRegion> pinned;
  if (shared) pinned = std::make_shared<PinnedRegion>(largest);
  std::printf("%-20s %12s %12s %6s", "op", "native us", "mediator us", "ratio");
  if (shared) std::printf(" %12s %12s %6s", "pinned us", "shm us", "ratio");
  std::printf(" %12s\n", "output bytes");
  for (const auto& c : cases) {
    const auto job = job_of(c.op, c.params);
    std::size_t bytes = 0;
    const double native = median_us(reps, [&] {
      auto r = run_cuda_op(job, lane, s, staging, {});
      bytes = r.outputs.empty() ? 0 : r.outputs[0].size();
    });
    double med = 0;
    if (client) med = median_us(reps, [&] { client->run(c.op, c.params); });
    std::printf("%-20s %12.1f %12.1f %6.2f", c.name.c_str(), native, med,
                med > 0 ? native / med : 0.0);
    if (shared && client) {
      auto placed = job;
      placed.output_places = {{pinned, 0, largest}};
      const double native_pinned =
          median_us(reps, [&] { run_cuda_op(placed, lane, s, staging, {}); });
      const double med_shm = median_us(reps, [&] {
        auto r = client->run_shared(c.op, c.params, {}, {{0, largest}});
        if (r.status != sdk::Status::ok)
          std::fprintf(stderr, "%s: %s\n", c.name.c_str(), r.message.c_str());
      });
      std::printf(" %12.1f %12.1f %6.2f", native_pinned, med_shm, native_pinned / med_shm);
    }
    std::printf(" %12zu\n", bytes);
  }
  return 0;
}
