// Everything the executor holds on the GPU, built in one place so that it can be thrown away and
// built again after a sticky error: the SM partitions (green contexts, or the whole device), and
// per slot a stream per priority, a cuBLAS handle and events in each partition, plus the slot's
// pinned staging buffer.
#pragma once

#include <cuda.h>

#include <string>
#include <vector>

#include "cuda_ops.cuh"
#include "partition_plan.hpp"

namespace vgpu::executors::cuda {

struct DeviceSetup {
  int device = 0;
  unsigned slots = 4;
  PartitionRequest partitions;
  std::size_t staging_bytes = 32u << 20;
};

struct Partition {
  std::string name;  // "device" when the GPU is not partitioned
  unsigned sms = 0;
  CUgreenCtx green = nullptr;   // null: the primary context
  CUcontext context = nullptr;  // what becomes current for this partition's jobs
};

class DeviceResources {
 public:
  // Throws CudaError, or PartitionError when the requested SM shares do not fit the device.
  DeviceResources(const DeviceSetup& setup, const int stream_priorities[3]);
  // Destroys everything, ignoring errors: it also runs on a context that a sticky error broke.
  ~DeviceResources();
  DeviceResources(const DeviceResources&) = delete;
  DeviceResources& operator=(const DeviceResources&) = delete;

  const PartitionPlan& plan() const { return plan_; }
  const std::vector<Partition>& partitions() const { return partitions_; }
  // Index of the partition called `name`; -1 when there is none.
  int partition_index(const std::string& name) const;
  // Makes the partition's context current on the calling thread.
  void make_current(int partition) const;
  SlotResources& lane(unsigned slot, int partition) { return slots_[slot].lanes[partition]; }
  PinnedStaging& staging(unsigned slot) { return slots_[slot].staging; }
  // Human-readable: "pool A 64 SMs, high 16 SMs, shared 48 SMs".
  std::string describe() const;

 private:
  struct Slot {
    std::vector<SlotResources> lanes;  // one per partition
    PinnedStaging staging;
  };
  void create_partitions(const DeviceSetup& setup, int device_sms);
  void create_lanes(const int stream_priorities[3], int shared_per_block);
  void destroy() noexcept;

  int device_;
  CUcontext primary_ = nullptr;
  PartitionPlan plan_;
  std::vector<Partition> partitions_;
  std::vector<Slot> slots_;
};

}  // namespace vgpu::executors::cuda
