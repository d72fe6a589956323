// The GPU executor: one host worker per slot. A job runs in an SM partition (a green context for
// its pool, or a reserve for high priority, or the whole device), on the stream of its VM's
// priority, so the hardware block scheduler favours high-priority work too. Device admission
// caps low-priority jobs in flight; per-VM memory quotas are checked before anything is
// allocated.
//
// Sticky CUDA errors (an illegal address): the failing job and the jobs on the device fail, and
// the executor tries once to rebuild its context in-process (cudaDeviceReset). CUDA documents
// that a process must be relaunched after such an error, and on the H100 the rebuild does fail
// (docs/decisions.md, "Sticky CUDA errors need process isolation"); later jobs then fail with
// "restart the mediator". The recovery that works is `isolation: process`: unusable() reports
// the error, and the core replaces this executor's process.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <variant>

#include "device_resources.hpp"
#include "host_registrations.hpp"
#include "memory_ledger.hpp"
#include "remote/remote_sessions.hpp"
#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/telemetry.hpp"
#include "vgpu/sdk/worker_pool.hpp"

namespace vgpu::executors::cuda {

struct CudaExecutorOptions {
  int device = 0;
  unsigned slots = 4;
  // Device admission per priority level (0 low, 1 medium, 2 high); 0 = up to slots.
  std::array<unsigned, 3> max_in_flight{};
  PartitionRequest partitions;
  std::uint64_t default_memory_quota_bytes = 0;  // for VMs whose DB row sets none; 0 = none
  std::size_t staging_bytes = 32u << 20;
  OpOptions ops;
  // Pins clients' shared memory for DMA on its first job (host_registrations.hpp). Off: outputs
  // go there through the staging buffer, and nothing of the clients' memory is page-locked.
  bool pin_shared_memory = true;
  // Remote CUDA (docs/remote-cuda.md): guests' own CUDA programs through libvgpu-cuda, each
  // program a session with a context of its own. Off: the cuda.* ops are not offered.
  bool remote_cuda = true;
  remote::SessionsOptions remote;
  sdk::Logger* logger = nullptr;  // for context rebuilds; may be null
};

class CudaExecutor final : public sdk::Executor, public sdk::Telemetry {
 public:
  // Throws sdk::ExecutorUnavailable when there is no usable CUDA device, PartitionError when the
  // SM shares do not fit it.
  explicit CudaExecutor(CudaExecutorOptions options);
  ~CudaExecutor() override;
  sdk::ExecutorInfo info() const override;
  void execute(sdk::JobPtr job, sdk::DoneCallback done) override;
  void stop() override;
  // Set from the first sticky CUDA error on, whatever the rebuild does: under `isolation:
  // process` the core then starts a fresh process, the only recovery CUDA promises.
  std::optional<std::string> unusable() const override;
  // sdk::Telemetry: device memory reserved per VM, the default quota, SM partition sizes and
  // context rebuilds.
  std::vector<sdk::Reading> readings() const override;

  // The CUDA stream priority used for each vgpu priority (0 low, 1 medium, 2 high).
  int stream_priority(int vgpu_priority) const { return stream_priorities_[vgpu_priority]; }
  std::string partitions() const;
  unsigned context_rebuilds() const { return rebuilds_.load(); }
  // What one `work` iteration costs at full occupancy (measured at start when slicing is on).
  double work_ns_per_iter() const { return options_.ops.work_ns_per_iter; }
  const MemoryLedger& memory() const { return ledger_; }
  std::size_t pinned_regions() const { return registrations_.pinned(); }
  std::size_t remote_sessions() const { return remote_ ? remote_->count() : 0; }

 private:
  // Where a job runs on the device: its SM partition and its stream's priority level.
  struct Placement {
    int partition = 0;
    int level = 0;  // 0 low .. 2 high
  };

  void run(unsigned slot, sdk::JobPtr job, sdk::DoneCallback done);
  // The job on the device, after its memory quota admitted it.
  sdk::JobResult run_on_device(unsigned slot, const sdk::Job& job);
  // Null when the VM's quota holds the job (then `reservation` holds its share), else the
  // refusal. Nothing touches the device before this: a refused job costs nobody else.
  std::optional<sdk::JobResult> admit_memory(const sdk::Job& job,
                                             std::optional<Reservation>& reservation);
  // The partition and stream level for the job, or why it has none. The partition follows the
  // operator's pool_sms / high_reserved_sms (partition_for); which job runs when is the policy's
  // and the core's decision, never this executor's.
  std::variant<Placement, std::string> place(const DeviceResources& device,
                                             const sdk::Job& job) const;
  // The result for a job whose CUDA call failed: only this job fails unless the error is sticky,
  // which marks the context broken for everyone.
  sdk::JobResult fail_from_cuda_error(const CudaError& e, cudaStream_t stream);
  // Everything on the GPU, built at start and again by a rebuild.
  std::unique_ptr<DeviceResources> make_resources() const;
  void calibrate_slicing();
  // Rebuilds the device state if a sticky error broke it (once, whoever gets here first).
  void rebuild_if_broken();
  void pin_shared_memory(const sdk::Job& job);

  CudaExecutorOptions options_;
  std::string device_name_;
  int stream_priorities_[3] = {};
  MemoryLedger ledger_;
  // Jobs hold it shared while they use `resources_`; a rebuild holds it exclusively.
  mutable std::shared_mutex device_mutex_;
  std::unique_ptr<DeviceResources> resources_;
  HostRegistrations registrations_;
  std::atomic<bool> broken_{false};
  std::atomic<unsigned> rebuilds_{0};
  std::string rebuild_error_;  // guarded by device_mutex_
  mutable std::mutex sticky_mutex_;
  std::string sticky_error_;  // the CUDA error that broke the context; guarded by sticky_mutex_
  std::unique_ptr<remote::RemoteSessions> remote_;  // null when remote_cuda is off
  std::unique_ptr<sdk::WorkerPool> pool_;           // started once the device state exists
};

}  // namespace vgpu::executors::cuda
