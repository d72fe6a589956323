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
  for (unsigned i = 0; i < options_.slots; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
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
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back({std::move(job), std::move(done)});
  }
  wake_.notify_one();
}

void CudaExecutor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();  // workers finish the queue first: every done() runs
  threads_.clear();
}

void CudaExecutor::worker_loop(unsigned index) {
  cudaSetDevice(options_.device);
  SlotResources& slot = slots_[index];
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    const int level = std::clamp(task.job->tenant.priority, 0, 2);
    const auto start = sdk::Clock::now();
    sdk::JobResult result;
    try {
      result = run_cuda_op(*task.job, slot, slot.streams[level]);
    } catch (const sdk::ops::OpError& e) {
      result = sdk::JobResult::failure(sdk::Status::bad_request, e.what());
    } catch (const CudaError& e) {
      // Only this job fails; the error text says which CUDA call and why.
      result = sdk::JobResult::failure(sdk::Status::execution_error, e.what());
      cudaGetLastError();  // clear a non-sticky error so the slot's next job starts clean
    } catch (const std::bad_alloc&) {
      result = sdk::JobResult::failure(sdk::Status::execution_error,
                                       task.job->op + ": out of host memory for this size");
    }
    result.usage.wall = sdk::Clock::now() - start;
    task.done(std::move(result));
  }
}

}  // namespace vgpu::executors::cuda
