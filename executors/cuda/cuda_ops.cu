#include <cuda_bf16.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "cuda_ops.cuh"
#include "device_buffer.cuh"
#include "sliced_ops.cuh"
#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors::cuda {
namespace ops = sdk::ops;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw CudaError(what, e);
}

bool is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
    case cudaErrorContextIsDestroyed:
      return true;
    default:
      return false;
  }
}

namespace {

void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw CudaError(what, s);
}

constexpr int kThreads = 256;
unsigned blocks_for(std::size_t n) {
  return static_cast<unsigned>(std::min<std::size_t>((n + kThreads - 1) / kThreads, 65535u * 4));
}

__global__ void generate_kernel(float* out, std::size_t n, std::uint64_t key) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    out[i] = ops::keyed_value(key, i);
}

__global__ void vector_add_kernel(const float* a, const float* b, float* c, std::size_t n) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    c[i] = a[i] + b[i];
}

__global__ void saxpy_kernel(float alpha, const float* x, float* y, std::size_t n) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    y[i] = __fadd_rn(__fmul_rn(alpha, x[i]), y[i]);  // no FMA: round as the CPU reference does
}

// Each thread sums a strided slice in double, the block reduces in shared memory, and one
// atomic per block adds to the total: double accumulation like the CPU reference.
__global__ void reduce_sum_kernel(const float* x, std::size_t n, double* total) {
  __shared__ double partial[kThreads];
  double sum = 0;
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    sum += x[i];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(total, partial[0]);
}

__global__ void to_float_kernel(const double* in, float* out) {
  *out = static_cast<float>(*in);
}

// The generated inputs of a bf16 gemm, rounded as they are made: no fp32 copy ever exists,
// which is most of what the op used to spend besides the multiply itself.
__global__ void generate_bf16_kernel(__nv_bfloat16* out, std::size_t n, std::uint64_t key) {
  // Eight values per thread, stored with one 16-byte write (cudaMallocAsync aligns to 256).
  const std::size_t groups = n / 8, stride = std::size_t(gridDim.x) * blockDim.x;
  const std::size_t first = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (std::size_t g = first; g < groups; g += stride) {
    __nv_bfloat162 pairs[4];
    for (int j = 0; j < 4; ++j)
      pairs[j] = __floats2bfloat162_rn(ops::keyed_value(key, g * 8 + 2 * j),
                                       ops::keyed_value(key, g * 8 + 2 * j + 1));
    reinterpret_cast<uint4*>(out)[g] = *reinterpret_cast<const uint4*>(pairs);
  }
  for (std::size_t i = groups * 8 + first; i < n; i += stride)
    out[i] = __float2bfloat16_rn(ops::keyed_value(key, i));
}

__global__ void to_bf16_kernel(const float* in, __nv_bfloat16* out, std::size_t n) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}

// Writes through a pointer no allocation owns: an illegal address, which the driver reports as
// a sticky error that poisons the context. Only for fault-recovery tests (fault_injection).
__global__ void fault_kernel(float* nowhere) {
  nowhere[threadIdx.x * 4096] = 1.0f;
}

// The pinned staging buffer as two halves, so the host copies one half while the device copies
// the other: a large transfer costs the slower of the two copies instead of their sum. Each
// half's event says when the device is done with it.
class StagingHalves {
 public:
  explicit StagingHalves(PinnedStaging& staging) : staging_(staging) {
    for (auto& e : done_)
      check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
  }
  ~StagingHalves() {
    for (auto e : done_) cudaEventDestroy(e);
  }
  StagingHalves(const StagingHalves&) = delete;
  std::size_t bytes() const { return staging_.bytes / 2; }
  std::uint8_t* half(int h) const {
    return static_cast<std::uint8_t*>(staging_.data) + h * bytes();
  }
  void device_used(int h, cudaStream_t s) {
    check(cudaEventRecord(done_[h], s), "cudaEventRecord");
  }
  void wait(int h, const char* what) { check(cudaEventSynchronize(done_[h]), what); }

 private:
  PinnedStaging& staging_;
  cudaEvent_t done_[2]{};
};

// Host -> device through the pinned buffer.
void upload(void* device, const std::uint8_t* host, std::size_t bytes, PinnedStaging& staging,
            cudaStream_t s) {
  constexpr const char* what = "copying an input to the device";
  auto* to = static_cast<std::uint8_t*>(device);
  if (bytes <= staging.bytes) {
    std::memcpy(staging.data, host, bytes);
    check(cudaMemcpyAsync(to, staging.data, bytes, cudaMemcpyHostToDevice, s), what);
    check(cudaStreamSynchronize(s), what);  // the buffer is refilled by the next upload
    return;
  }
  StagingHalves halves(staging);
  int h = 0;
  for (std::size_t done = 0; done < bytes; done += halves.bytes(), h ^= 1) {
    const std::size_t chunk = std::min(bytes - done, halves.bytes());
    // From the third chunk on, this half held an earlier one: the device must have read it.
    if (done >= 2 * halves.bytes()) halves.wait(h, what);
    std::memcpy(halves.half(h), host + done, chunk);
    check(cudaMemcpyAsync(to + done, halves.half(h), chunk, cudaMemcpyHostToDevice, s), what);
    halves.device_used(h, s);
  }
  check(cudaStreamSynchronize(s), what);
}

// An input on the device: copied from the client's buffer or generated there.
DeviceBuffer input(const sdk::Job& job, std::size_t index, std::size_t count, cudaStream_t s,
                   PinnedStaging& staging) {
  DeviceBuffer buf(count * sizeof(float), s);
  if (count == 0) return buf;
  if (!job.inputs.empty()) {
    upload(buf.get(), job.inputs[index].data(), count * sizeof(float), staging, s);
  } else {
    const auto seed = ops::param_u64(job, "seed", 1, UINT64_MAX);
    generate_kernel<<<blocks_for(count), kThreads, 0, s>>>(
        buf.get(), count, ops::generator_key(seed, static_cast<std::uint32_t>(index)));
    check(cudaGetLastError(), "generating inputs");
  }
  return buf;
}

// A bf16 gemm input: generated as bf16, or the client's fp32 buffer uploaded and converted.
DeviceBuffer input_bf16(const sdk::Job& job, std::size_t index, std::size_t count, cudaStream_t s,
                        PinnedStaging& staging) {
  DeviceBuffer out(count * sizeof(__nv_bfloat16), s);
  if (count == 0) return out;
  if (!job.inputs.empty()) {
    auto fp32 = input(job, index, count, s, staging);
    to_bf16_kernel<<<blocks_for(count), kThreads, 0, s>>>(fp32.get(), out.get<__nv_bfloat16>(),
                                                          count);
  } else {
    const auto seed = ops::param_u64(job, "seed", 1, UINT64_MAX);
    generate_bf16_kernel<<<blocks_for(count / 8 + 1), kThreads, 0, s>>>(
        out.get<__nv_bfloat16>(), count,
        ops::generator_key(seed, static_cast<std::uint32_t>(index)));
  }
  check(cudaGetLastError(), "preparing a bf16 input");
  return out;
}

// Whether `host` lies in page-locked memory the device can write by DMA (cudaHostRegister'ed
// shared memory, cudaMallocHost).
bool is_pinned(const void* host) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, host) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attributes.type == cudaMemoryTypeHost;
}

// Device -> host memory at `to`: one DMA when `to` is `pinned` (complete once the stream is),
// else through the pinned buffer (complete on return).
void download_into(std::uint8_t* to, bool pinned, const float* device, std::size_t bytes,
                   cudaStream_t s, PinnedStaging& staging) {
  constexpr const char* what = "copying the output to the host";
  if (bytes == 0) return;
  const auto* from = reinterpret_cast<const std::uint8_t*>(device);
  if (pinned) {
    check(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToHost, s), what);
    return;
  }
  if (bytes <= staging.bytes) {
    check(cudaMemcpyAsync(staging.data, from, bytes, cudaMemcpyDeviceToHost, s), what);
    check(cudaStreamSynchronize(s), what);
    std::memcpy(to, staging.data, bytes);
    return;
  }
  StagingHalves halves(staging);
  auto fetch = [&](std::size_t offset, int h) {
    const std::size_t chunk = std::min(bytes - offset, halves.bytes());
    check(cudaMemcpyAsync(halves.half(h), from + offset, chunk, cudaMemcpyDeviceToHost, s), what);
    halves.device_used(h, s);
  };
  fetch(0, 0);
  int h = 0;
  for (std::size_t offset = 0; offset < bytes; offset += halves.bytes(), h ^= 1) {
    // The next chunk lands in the other half while this one is copied out.
    if (offset + halves.bytes() < bytes) fetch(offset + halves.bytes(), h ^ 1);
    halves.wait(h, what);
    std::memcpy(to + offset, halves.half(h), std::min(bytes - offset, halves.bytes()));
  }
}

// The op's output into the client's shared memory when it asked for that and it fits, else into
// a new buffer of the result.
void deliver_output(const sdk::Job& job, const float* device, std::size_t count, cudaStream_t s,
                    PinnedStaging& staging, sdk::JobResult& result) {
  const std::size_t bytes = count * sizeof(float);
  if (!job.output_places.empty() && bytes <= job.output_places[0].capacity) {
    std::uint8_t* place = job.output_places[0].data();
    download_into(place, is_pinned(place), device, bytes, s, staging);
    result.placed_sizes.push_back(bytes);
    return;
  }
  // A new buffer is never pinned: no need to ask the driver. Too large for its place, the
  // output is returned here, and the core reports the misfit.
  sdk::Buffer out(bytes);
  download_into(out.data(), false, device, bytes, s, staging);
  result.outputs.push_back(std::move(out));
}

// Returns when everything queued on `s` has run: polling first (see OpOptions::busy_poll).
void finish(cudaStream_t s, std::chrono::microseconds spin, const char* what) {
  if (spin.count() > 0) {
    const auto until = std::chrono::steady_clock::now() + spin;
    do {
      const cudaError_t state = cudaStreamQuery(s);
      if (state != cudaErrorNotReady) return check(state, what);
    } while (std::chrono::steady_clock::now() < until);
  }
  check(cudaStreamSynchronize(s), what);
}

}  // namespace

void launch_vector_add(const float* a, const float* b, float* c, std::size_t n, cudaStream_t s) {
  if (n) vector_add_kernel<<<blocks_for(n), kThreads, 0, s>>>(a, b, c, n);
}

std::uint64_t device_footprint(const sdk::Job& job) {
  if (job.op == "fault") return 0;
  const auto shape = ops::shape_of(job);
  const std::uint64_t f = sizeof(float);
  if (job.op == ops::kVectorAdd) return 3 * shape.n * f;
  if (job.op == ops::kSaxpy) return 2 * shape.n * f;
  if (job.op == ops::kReduceSum) return shape.n * f + sizeof(double) + f;
  if (job.op == ops::kGemm) {
    const std::uint64_t ab = shape.m * shape.k + shape.k * shape.n, c = shape.m * shape.n * f;
    if (job.param("precision").value_or("fp32") != "bf16") return ab * f + c;
    // bf16: client-sent inputs pass through fp32 on the device first; generated ones do not.
    return ab * 2 + c + (job.inputs.empty() ? 0 : ab * f);
  }
  if (job.op == ops::kWork) {
    const auto w = ops::work_shape(job);
    return w.blocks * sizeof(float) + work_state_bytes(w);
  }
  return 0;  // noop, spin
}

sdk::JobResult run_cuda_op(const sdk::Job& job, SlotResources& slot, cudaStream_t s,
                           PinnedStaging& staging, const OpOptions& options) {
  if (job.op == "fault" && options.fault_injection) {
    fault_kernel<<<1, 32, 0, s>>>(reinterpret_cast<float*>(0x10));
    check(cudaStreamSynchronize(s), "fault");
    return sdk::JobResult::failure(sdk::Status::execution_error, "fault: no error was raised");
  }
  const auto shape = ops::shape_of(job);  // the same validation and errors as the CPU executor
  sdk::JobResult result;
  // What the op leaves on the device for download once the timed part is over.
  const float* output = nullptr;
  std::size_t output_count = 0;
  const bool returns_output = job.op == ops::kWork ? ops::work_shape(job).output
                                                   : job.op != ops::kNoop && job.op != ops::kSpin;
  // Device time. A job that copies outputs back marks the end of its compute with a timing event
  // (the copies follow in the stream, so the host cannot see when the compute ended). A job
  // without outputs needs no events: its device time runs from its first enqueue to the
  // completion the host sees, which saves the two timing events' 11-16 us a job on the H100
  // (docs/gpu-test-log.md, sixth session) and includes the launch, as the events' interval does.
  const auto enqueued = std::chrono::steady_clock::now();
  std::vector<DeviceBuffer> keep;
  if (returns_output) check(cudaEventRecord(slot.start, s), "cudaEventRecord");
  if (job.op == ops::kNoop) {
  } else if (job.op == ops::kVectorAdd) {
    auto a = input(job, 0, shape.n, s, staging), b = input(job, 1, shape.n, s, staging);
    DeviceBuffer c(shape.n * sizeof(float), s);
    if (shape.n)
      vector_add_kernel<<<blocks_for(shape.n), kThreads, 0, s>>>(a.get(), b.get(), c.get(),
                                                                 shape.n);
    output = c.get(), output_count = shape.n;
    keep.push_back(std::move(c));
  } else if (job.op == ops::kSaxpy) {
    const float alpha = ops::param_float(job, "alpha", 2.0f);
    auto x = input(job, 0, shape.n, s, staging), y = input(job, 1, shape.n, s, staging);
    if (shape.n)
      saxpy_kernel<<<blocks_for(shape.n), kThreads, 0, s>>>(alpha, x.get(), y.get(), shape.n);
    output = y.get(), output_count = shape.n;
    keep.push_back(std::move(y));
  } else if (job.op == ops::kReduceSum) {
    auto x = input(job, 0, shape.n, s, staging);
    DeviceBuffer total(sizeof(double), s), out(sizeof(float), s);
    check(cudaMemsetAsync(total.get<double>(), 0, sizeof(double), s), "cudaMemsetAsync");
    if (shape.n)
      reduce_sum_kernel<<<std::min(blocks_for(shape.n), 4096u), kThreads, 0, s>>>(
          x.get(), shape.n, total.get<double>());
    to_float_kernel<<<1, 1, 0, s>>>(total.get<double>(), out.get());
    output = out.get(), output_count = 1;
    keep.push_back(std::move(out));
  } else if (job.op == ops::kGemm) {
    const auto precision = job.param("precision").value_or("fp32");
    if (precision != "fp32" && precision != "bf16")
      throw ops::OpError("gemm: precision must be fp32 or bf16, got '" + std::string(precision) +
                         "'");
    DeviceBuffer c(shape.m * shape.n * sizeof(float), s);
    check_blas(cublasSetStream(slot.blas, s), "cublasSetStream");
    const float one = 1, zero = 0;
    const int m = int(shape.m), n = int(shape.n), k = int(shape.k);
    // Row-major C = A B is column-major C^T = B^T A^T: swap the operands, no transposes.
    if (m && n && k) {
      if (precision == "fp32") {
        auto a = input(job, 0, shape.m * shape.k, s, staging);
        auto b = input(job, 1, shape.k * shape.n, s, staging);
        check_blas(cublasSgemm(slot.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b.get(), n,
                               a.get(), k, &zero, c.get(), n),
                   "cublasSgemm");
      } else {
        auto a16 = input_bf16(job, 0, shape.m * shape.k, s, staging);
        auto b16 = input_bf16(job, 1, shape.k * shape.n, s, staging);
        check_blas(cublasGemmEx(slot.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b16.get(),
                                CUDA_R_16BF, n, a16.get(), CUDA_R_16BF, k, &zero, c.get(),
                                CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                   "cublasGemmEx (bf16, tensor cores)");
      }
    } else if (m && n) {
      check(cudaMemsetAsync(c.get(), 0, shape.m * shape.n * sizeof(float), s), "cudaMemsetAsync");
    }
    output = c.get(), output_count = shape.m * shape.n;
    keep.push_back(std::move(c));
  } else if (job.op == ops::kSpin) {
    launch_spin(job, slot, s, options);
  } else if (job.op == ops::kWork) {
    const auto w = ops::work_shape(job);
    DeviceBuffer sums(w.blocks * sizeof(float), s);
    launch_work(job, w, sums.get(), s, options);
    output = sums.get(), output_count = w.blocks;
    keep.push_back(std::move(sums));
  } else {
    return sdk::JobResult::failure(sdk::Status::unknown_op, "unknown op '" + job.op + "'");
  }
  check(cudaGetLastError(), "launching the kernel");
  if (returns_output) check(cudaEventRecord(slot.stop, s), "cudaEventRecord");
  if (returns_output) deliver_output(job, output, output_count, s, staging, result);
  finish(s, options.busy_poll, job.op.c_str());
  if (!returns_output) {
    result.usage.device = std::chrono::steady_clock::now() - enqueued;
    return result;
  }
  float ms = 0;
  check(cudaEventElapsedTime(&ms, slot.start, slot.stop), "cudaEventElapsedTime");
  result.usage.device = std::chrono::nanoseconds(static_cast<std::int64_t>(ms * 1e6));
  return result;
}

}  // namespace vgpu::executors::cuda
