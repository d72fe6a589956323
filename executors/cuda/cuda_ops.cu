#include <cuda_bf16.h>

#include <utility>
#include <vector>

#include "cuda_ops.cuh"
#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors::cuda {
namespace ops = sdk::ops;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw CudaError(what, e);
}

namespace {

void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw CudaError(what, s);
}

constexpr int kThreads = 256;
unsigned blocks_for(std::size_t n) {
  return static_cast<unsigned>(std::min<std::size_t>((n + kThreads - 1) / kThreads, 65535u * 4));
}

__global__ void generate_kernel(float* out, std::size_t n, std::uint64_t seed,
                                std::uint32_t stream) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    out[i] = ops::generated_value(seed, stream, i);
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

__global__ void to_bf16_kernel(const float* in, __nv_bfloat16* out, std::size_t n) {
  for (std::size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    out[i] = __float2bfloat16_rn(in[i]);
}

// Holds every block on its SM until the global timer has advanced `ns`.
__global__ void spin_kernel(std::uint64_t ns) {
  std::uint64_t start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

// Stream-ordered device buffer (cudaMallocAsync draws from the device's memory pool).
class DeviceBuffer {
 public:
  DeviceBuffer(std::size_t bytes, cudaStream_t s) : stream_(s), bytes_(bytes) {
    if (bytes) check(cudaMallocAsync(&ptr_, bytes, s), "cudaMallocAsync");
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFreeAsync(ptr_, stream_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), stream_(other.stream_), bytes_(other.bytes_) {}
  template <typename T = float>
  T* get() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  cudaStream_t stream_;
  std::size_t bytes_;
};

// An input on the device: copied from the client's buffer or generated there.
DeviceBuffer input(const sdk::Job& job, std::size_t index, std::size_t count, cudaStream_t s) {
  DeviceBuffer buf(count * sizeof(float), s);
  if (count == 0) return buf;
  if (!job.inputs.empty()) {
    check(cudaMemcpyAsync(buf.get(), job.inputs[index].data(), count * sizeof(float),
                          cudaMemcpyHostToDevice, s),
          "copying an input to the device");
  } else {
    const auto seed = ops::param_u64(job, "seed", 1, UINT64_MAX);
    generate_kernel<<<blocks_for(count), kThreads, 0, s>>>(buf.get(), count, seed,
                                                           static_cast<std::uint32_t>(index));
    check(cudaGetLastError(), "generating inputs");
  }
  return buf;
}

sdk::Buffer download(const float* device, std::size_t count, cudaStream_t s) {
  sdk::Buffer out(count * sizeof(float));
  if (count)
    check(cudaMemcpyAsync(out.data(), device, out.size(), cudaMemcpyDeviceToHost, s),
          "copying the output to the host");
  return out;
}

}  // namespace

sdk::JobResult run_cuda_op(const sdk::Job& job, SlotResources& slot, cudaStream_t s) {
  const auto shape = ops::shape_of(job);  // the same validation and errors as the CPU executor
  sdk::JobResult result;
  check(cudaEventRecord(slot.start, s), "cudaEventRecord");
  if (job.op == ops::kNoop) {
  } else if (job.op == ops::kVectorAdd) {
    auto a = input(job, 0, shape.n, s), b = input(job, 1, shape.n, s);
    DeviceBuffer c(shape.n * sizeof(float), s);
    if (shape.n)
      vector_add_kernel<<<blocks_for(shape.n), kThreads, 0, s>>>(a.get(), b.get(), c.get(),
                                                                 shape.n);
    result.outputs.push_back(download(c.get(), shape.n, s));
  } else if (job.op == ops::kSaxpy) {
    const float alpha = ops::param_float(job, "alpha", 2.0f);
    auto x = input(job, 0, shape.n, s), y = input(job, 1, shape.n, s);
    if (shape.n)
      saxpy_kernel<<<blocks_for(shape.n), kThreads, 0, s>>>(alpha, x.get(), y.get(), shape.n);
    result.outputs.push_back(download(y.get(), shape.n, s));
  } else if (job.op == ops::kReduceSum) {
    auto x = input(job, 0, shape.n, s);
    DeviceBuffer total(sizeof(double), s), out(sizeof(float), s);
    check(cudaMemsetAsync(total.get<double>(), 0, sizeof(double), s), "cudaMemsetAsync");
    if (shape.n)
      reduce_sum_kernel<<<std::min(blocks_for(shape.n), 4096u), kThreads, 0, s>>>(
          x.get(), shape.n, total.get<double>());
    to_float_kernel<<<1, 1, 0, s>>>(total.get<double>(), out.get());
    result.outputs.push_back(download(out.get(), 1, s));
  } else if (job.op == ops::kGemm) {
    const auto precision = job.param("precision").value_or("fp32");
    if (precision != "fp32" && precision != "bf16")
      throw ops::OpError("gemm: precision must be fp32 or bf16, got '" + std::string(precision) +
                         "'");
    auto a = input(job, 0, shape.m * shape.k, s), b = input(job, 1, shape.k * shape.n, s);
    DeviceBuffer c(shape.m * shape.n * sizeof(float), s);
    check_blas(cublasSetStream(slot.blas, s), "cublasSetStream");
    const float one = 1, zero = 0;
    const int m = int(shape.m), n = int(shape.n), k = int(shape.k);
    // Row-major C = A B is column-major C^T = B^T A^T: swap the operands, no transposes.
    if (m && n && k) {
      if (precision == "fp32") {
        check_blas(cublasSgemm(slot.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b.get(), n,
                               a.get(), k, &zero, c.get(), n),
                   "cublasSgemm");
      } else {
        DeviceBuffer a16(shape.m * shape.k * 2, s), b16(shape.k * shape.n * 2, s);
        to_bf16_kernel<<<blocks_for(shape.m * shape.k), kThreads, 0, s>>>(
            a.get(), a16.get<__nv_bfloat16>(), shape.m * shape.k);
        to_bf16_kernel<<<blocks_for(shape.k * shape.n), kThreads, 0, s>>>(
            b.get(), b16.get<__nv_bfloat16>(), shape.k * shape.n);
        check_blas(cublasGemmEx(slot.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b16.get(),
                                CUDA_R_16BF, n, a16.get(), CUDA_R_16BF, k, &zero, c.get(),
                                CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                   "cublasGemmEx (bf16, tensor cores)");
      }
    } else if (m && n) {
      check(cudaMemsetAsync(c.get(), 0, shape.m * shape.n * sizeof(float), s), "cudaMemsetAsync");
    }
    result.outputs.push_back(download(c.get(), shape.m * shape.n, s));
  } else if (job.op == ops::kSpin) {
    const auto us = ops::param_u64(job, "us", 1000, ops::kMaxSpinMicros);
    // One block per SM by default: the job holds the whole GPU for its time, like a real kernel.
    const auto blocks = ops::param_u64(job, "blocks", slot.sm_count, 1u << 20);
    if (blocks) spin_kernel<<<unsigned(blocks), 32, 0, s>>>(us * 1000);
  } else {
    return sdk::JobResult::failure(sdk::Status::unknown_op, "unknown op '" + job.op + "'");
  }
  check(cudaGetLastError(), "launching the kernel");
  check(cudaEventRecord(slot.stop, s), "cudaEventRecord");
  check(cudaStreamSynchronize(s), job.op.c_str());
  float ms = 0;
  check(cudaEventElapsedTime(&ms, slot.start, slot.stop), "cudaEventElapsedTime");
  result.usage.device = std::chrono::nanoseconds(static_cast<std::int64_t>(ms * 1e6));
  return result;
}

}  // namespace vgpu::executors::cuda
