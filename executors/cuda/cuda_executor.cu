#include <algorithm>

#include "cuda_executor.hpp"
#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors::cuda {

CudaExecutor::CudaExecutor(CudaExecutorOptions options) : options_(options) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0)
    throw sdk::ExecutorUnavailable(std::string("no CUDA device: ") +
                                   (e != cudaSuccess ? cudaGetErrorString(e) : "none found"));
  if (options_.device >= count)
    throw sdk::ExecutorUnavailable("CUDA device " + std::to_string(options_.device) +
                                   " does not exist (" + std::to_string(count) + " found)");
  check(cudaSetDevice(options_.device), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, options_.device), "cudaGetDeviceProperties");
  device_name_ = prop.name;
  int least = 0, greatest = 0;  // numerically: least = 0, greatest = -5 on an H100
  check(cudaDeviceGetStreamPriorityRange(&least, &greatest), "cudaDeviceGetStreamPriorityRange");
  stream_priorities_[0] = least;
  stream_priorities_[1] = (least + greatest) / 2;
  stream_priorities_[2] = greatest;
  slots_.resize(options_.slots);
  for (auto& slot : slots_) {
    for (int p = 0; p < 3; ++p)
      check(cudaStreamCreateWithPriority(&slot.streams[p], cudaStreamNonBlocking,
                                         stream_priorities_[p]),
            "cudaStreamCreateWithPriority");
    if (cublasCreate(&slot.blas) != CUBLAS_STATUS_SUCCESS)
      throw sdk::ExecutorUnavailable("cuBLAS could not be initialised");
    check(cudaEventCreate(&slot.start), "cudaEventCreate");
    check(cudaEventCreate(&slot.stop), "cudaEventCreate");
    slot.sm_count = prop.multiProcessorCount;
  }
  pool_ = std::make_unique<sdk::WorkerPool>(
      options_.slots, [this](unsigned slot, sdk::JobPtr job, sdk::DoneCallback done) {
        run(slot, std::move(job), std::move(done));
      });
}

CudaExecutor::~CudaExecutor() {
  stop();
  for (auto& slot : slots_) {
    for (auto s : slot.streams) cudaStreamDestroy(s);
    cublasDestroy(slot.blas);
    cudaEventDestroy(slot.start);
    cudaEventDestroy(slot.stop);
  }
}

sdk::ExecutorInfo CudaExecutor::info() const {
  return {"cuda", options_.slots, sdk::ops::builtin_names(),
          device_name_ + " (device " + std::to_string(options_.device) + ", stream priorities " +
              std::to_string(stream_priorities_[0]) + ".." + std::to_string(stream_priorities_[2]) +
              ")"};
}

void CudaExecutor::execute(sdk::JobPtr job, sdk::DoneCallback done) {
  pool_->submit(std::move(job), std::move(done));
}

void CudaExecutor::stop() {
  pool_->stop();
}

void CudaExecutor::run(unsigned index, sdk::JobPtr job, sdk::DoneCallback done) {
  cudaSetDevice(options_.device);  // the current device is per host thread
  SlotResources& slot = slots_[index];
  const int level = std::clamp(job->tenant.priority, 0, 2);
  const auto start = sdk::Clock::now();
  sdk::JobResult result;
  try {
    result = run_cuda_op(*job, slot, slot.streams[level]);
  } catch (const sdk::ops::OpError& e) {
    result = sdk::JobResult::failure(sdk::Status::bad_request, e.what());
  } catch (const CudaError& e) {
    // Only this job fails; the error text says which CUDA call and why.
    result = sdk::JobResult::failure(sdk::Status::execution_error, e.what());
    cudaGetLastError();  // clear a non-sticky error so the slot's next job starts clean
  } catch (const std::bad_alloc&) {
    result = sdk::JobResult::failure(sdk::Status::execution_error,
                                     job->op + ": out of host memory for this size");
  }
  result.usage.wall = sdk::Clock::now() - start;
  done(std::move(result));
}

}  // namespace vgpu::executors::cuda
