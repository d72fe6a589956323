#include <algorithm>
#include <mutex>

#include "cuda_executor.hpp"
#include "driver_api.hpp"
#include "sliced_ops.cuh"
#include "vgpu/protocol/cuda_calls.hpp"
#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors::cuda {

CudaExecutor::CudaExecutor(CudaExecutorOptions options) : options_(std::move(options)) {
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
  resources_ = make_resources();
  if (options_.remote_cuda) {
    options_.remote.device = options_.device;
    options_.remote.default_memory_quota_bytes = options_.default_memory_quota_bytes;
    options_.remote.poll = options_.ops.busy_poll;
    options_.remote.high_reserved_sms = options_.partitions.high_reserved_sms;
    remote_ = std::make_unique<remote::RemoteSessions>(options_.remote, ledger_);
  }
  if (options_.ops.low_slice.count() > 0) calibrate_slicing();
  pool_ = std::make_unique<sdk::WorkerPool>(
      options_.slots,
      [this](unsigned slot, sdk::JobPtr job, sdk::DoneCallback done) {
        run(slot, std::move(job), std::move(done));
      },
      options_.ops.busy_poll);
}

void CudaExecutor::calibrate_slicing() {
  resources_->make_current(0);
  SlotResources& lane = resources_->lane(0, 0);
  options_.ops.work_ns_per_iter = measure_work_ns_per_iter(lane, lane.streams[0]);
  if (options_.logger)
    options_.logger->info("cuda executor: low-priority spin and work run in slices of at most " +
                          std::to_string(options_.ops.low_slice.count()) +
                          " us (work: " + std::to_string(options_.ops.work_ns_per_iter) +
                          " ns per iteration at full occupancy)");
}

CudaExecutor::~CudaExecutor() {
  stop();
  std::unique_lock lock(device_mutex_);
  resources_.reset();
}

std::string CudaExecutor::partitions() const {
  std::shared_lock lock(device_mutex_);
  return resources_ ? resources_->describe() : "";
}

std::unique_ptr<DeviceResources> CudaExecutor::make_resources() const {
  return std::make_unique<DeviceResources>(
      DeviceSetup{options_.device, options_.slots, options_.partitions, options_.staging_bytes},
      stream_priorities_);
}

sdk::ExecutorInfo CudaExecutor::info() const {
  sdk::ExecutorInfo info{"cuda", options_.slots, sdk::ops::builtin_names(),
                         device_name_ + " (device " + std::to_string(options_.device) +
                             ", stream priorities " + std::to_string(stream_priorities_[0]) + ".." +
                             std::to_string(stream_priorities_[2]) + "; " + partitions() + ")"};
  info.max_in_flight = options_.max_in_flight;
  // Advertised only when on, so the mediator admits it (fault-recovery tests over the wire).
  if (options_.ops.fault_injection) info.ops.push_back("fault");
  if (remote_)
    for (auto op :
         {::vgpu::cuda_calls::kOpOpen, ::vgpu::cuda_calls::kOpCalls, ::vgpu::cuda_calls::kOpClose})
      info.ops.emplace_back(op);
  return info;
}

std::vector<sdk::Reading> CudaExecutor::readings() const {
  std::vector<sdk::Reading> out;
  for (const auto& [vm_id, bytes] : ledger_.all_in_use())
    out.push_back({"device_memory_in_use_bytes",
                   "Device memory reserved by a VM's running jobs",
                   {{"vm", std::to_string(vm_id)}},
                   double(bytes)});
  if (remote_)
    for (const auto& [vm_id, sessions] : remote_->per_vm())
      out.push_back({"remote_cuda_sessions",
                     "Guest CUDA programs of a VM with a session open (docs/remote-cuda.md)",
                     {{"vm", std::to_string(vm_id)}},
                     double(sessions)});
  out.push_back({"default_memory_quota_bytes",
                 "Device memory quota of VMs whose DB row sets none (0: no quota)",
                 {},
                 double(options_.default_memory_quota_bytes)});
  // A rebuild holds the lock exclusively: skip the partitions rather than wait for it.
  std::shared_lock lock(device_mutex_, std::try_to_lock);
  if (lock.owns_lock() && resources_)
    for (const auto& p : resources_->partitions())
      out.push_back({"sm_partition_sms",
                     "SMs in each partition of the device",
                     {{"partition", p.name}},
                     double(p.sms)});
  out.push_back({"context_rebuilds",
                 "In-process rebuilds of the CUDA context after sticky errors",
                 {},
                 double(rebuilds_.load())});
  return out;
}

void CudaExecutor::execute(sdk::JobPtr job, sdk::DoneCallback done) {
  pool_->submit(std::move(job), std::move(done));
}

void CudaExecutor::stop() {
  if (pool_) pool_->stop();
}

void CudaExecutor::run(unsigned index, sdk::JobPtr job, sdk::DoneCallback done) {
  const auto start = sdk::Clock::now();
  sdk::JobResult result;
  try {
    // A remote session's calls run in the session's own context, never in the partitions.
    result = remote_ && remote::RemoteSessions::is_remote_op(job->op) ? remote_->run(*job)
                                                                      : run_on_device(index, *job);
  } catch (const sdk::ops::OpError& e) {
    result = sdk::JobResult::failure(sdk::Status::bad_request, e.what());
  } catch (const std::bad_alloc&) {
    result = sdk::JobResult::failure(sdk::Status::execution_error,
                                     job->op + ": out of host memory for this size");
  } catch (const std::exception& e) {
    result = sdk::JobResult::failure(sdk::Status::execution_error, e.what());
  }
  result.usage.wall = sdk::Clock::now() - start;
  done(std::move(result));
  // The failing job has its answer; now the context is rebuilt before this worker goes on.
  rebuild_if_broken();
}

std::optional<sdk::JobResult> CudaExecutor::admit_memory(const sdk::Job& job,
                                                         std::optional<Reservation>& reservation) {
  const std::uint64_t quota = job.tenant.memory_quota_bytes ? job.tenant.memory_quota_bytes
                                                            : options_.default_memory_quota_bytes;
  const std::uint64_t footprint = device_footprint(job);
  if (auto why = ledger_.reserve(job.tenant.vm_id, footprint, quota))
    return sdk::JobResult::failure(sdk::Status::quota_exceeded, job.op + ": " + *why);
  reservation.emplace(ledger_, job.tenant.vm_id, footprint);
  return std::nullopt;
}

std::variant<CudaExecutor::Placement, std::string> CudaExecutor::place(
    const DeviceResources& device, const sdk::Job& job) const {
  Placement placement;
  // The DB allows 0..2 only; a clamp keeps a bad value from indexing past the streams.
  placement.level = std::clamp(job.tenant.priority, 0, 2);
  if (!options_.partitions.any()) return placement;
  const std::string name = partition_for(device.plan(), job.tenant.pool, placement.level == 2);
  placement.partition = device.partition_index(name);
  if (placement.partition < 0)
    return "pool " + job.tenant.pool +
           " has no SM partition: list it under pool_sms or leave SMs for the shared rest";
  return placement;
}

sdk::JobResult CudaExecutor::fail_from_cuda_error(const CudaError& e, cudaStream_t stream) {
  cudaGetLastError();
  const bool sticky = is_sticky(e.code) || is_sticky(cudaStreamSynchronize(stream)) ||
                      is_sticky(cudaGetLastError());
  if (!sticky) return sdk::JobResult::failure(sdk::Status::execution_error, e.what());
  {
    std::lock_guard guard(sticky_mutex_);
    if (sticky_error_.empty()) sticky_error_ = e.what();
  }
  broken_ = true;
  return sdk::JobResult::failure(
      sdk::Status::execution_error,
      std::string(e.what()) + " (a sticky error: the GPU context is lost for this process)");
}

sdk::JobResult CudaExecutor::run_on_device(unsigned index, const sdk::Job& job) {
  std::optional<Reservation> reservation;
  if (auto refused = admit_memory(job, reservation)) return std::move(*refused);
  if (!job.output_places.empty()) pin_shared_memory(job);

  std::shared_lock lock(device_mutex_);
  if (broken_) {
    // A sticky error broke the context: one rebuild is tried (by whoever comes first), and the
    // job runs if it worked.
    lock.unlock();
    rebuild_if_broken();
    lock.lock();
    if (broken_)
      return sdk::JobResult::failure(
          sdk::Status::execution_error,
          "the GPU is unusable since a sticky CUDA error (CUDA allows no recovery inside a "
          "process; restart the mediator, or run the executor with isolation: process): "
          "rebuilding the context failed: " +
              rebuild_error_);
  }
  DeviceResources& device = *resources_;
  const auto placed = place(device, job);
  if (const auto* why = std::get_if<std::string>(&placed))
    return sdk::JobResult::failure(sdk::Status::execution_error, *why);
  const auto [partition, level] = std::get<Placement>(placed);
  device.make_current(partition);
  cudaStream_t stream = device.lane(index, partition).streams[level];
  try {
    return run_cuda_op(job, device.lane(index, partition), stream, device.staging(index),
                       options_.ops);
  } catch (const CudaError& e) {
    return fail_from_cuda_error(e, stream);
  }
}

void CudaExecutor::pin_shared_memory(const sdk::Job& job) {
  if (!options_.pin_shared_memory) return;
  const auto& region = job.output_places.front().region;
  // Refused pinning costs speed, not correctness: the output then goes through staging.
  if (auto why = registrations_.pin(region); !why.empty() && options_.logger)
    options_.logger->warn("cuda executor: outputs into " + region->name() +
                          " go through the staging buffer: " + why);
}

std::optional<std::string> CudaExecutor::unusable() const {
  if (!broken_) return std::nullopt;
  std::lock_guard guard(sticky_mutex_);
  return "a sticky CUDA error lost the GPU context (" + sticky_error_ +
         "); CUDA allows no recovery inside the process";
}

void CudaExecutor::rebuild_if_broken() {
  if (!broken_) return;
  std::unique_lock lock(device_mutex_);
  if (!broken_) return;  // another worker rebuilt it while this one waited
  if (options_.logger) options_.logger->warn("cuda executor: sticky CUDA error, rebuilding");
  resources_.reset();
  registrations_.forget_all();  // cudaDeviceReset drops them
  cudaSetDevice(options_.device);
  cudaDeviceReset();  // the only way out of a sticky error: a fresh primary context
  // The destroyed context may still be current on this thread; the runtime must not reuse it.
  DriverApi::get().ctx_set_current(nullptr);
  try {
    resources_ = make_resources();
    broken_ = false;
    ++rebuilds_;
    if (options_.logger)
      options_.logger->info("cuda executor: context rebuilt (" + std::to_string(rebuilds_.load()) +
                            " so far); " + resources_->describe());
  } catch (const std::exception& e) {
    // Stays broken: the next job tries again, and fails with this text meanwhile.
    rebuild_error_ = e.what();
    if (options_.logger)
      options_.logger->error(std::string("cuda executor: rebuild failed: ") + e.what());
  }
}

}  // namespace vgpu::executors::cuda
