#include "device_resources.hpp"
#include "driver_api.hpp"

#include <cstdint>

namespace vgpu::executors::cuda {

DeviceResources::DeviceResources(const DeviceSetup& setup, const int stream_priorities[3])
    : device_(setup.device), slots_(setup.slots) {
  check(cudaSetDevice(device_), "cudaSetDevice");
  check(cudaFree(nullptr), "initialising the CUDA context");
  // Jobs allocate with cudaMallocAsync. By default the pool hands its memory back to the driver
  // at every synchronisation, so each job mapped its buffers afresh (for a 1 GiB gemm, most of
  // its time). Keep what was freed for the next job: the mediator is the GPU's only user, and
  // quotas are enforced by the ledger, not by the pool.
  cudaMemPool_t pool{};
  check(cudaDeviceGetDefaultMemPool(&pool, device_), "cudaDeviceGetDefaultMemPool");
  std::uint64_t keep = UINT64_MAX;
  check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep),
        "cudaMemPoolSetAttribute(release threshold)");
  const DriverApi& api = DriverApi::get();
  check_driver(api.ctx_get_current(&primary_), "cuCtxGetCurrent");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
  try {
    create_partitions(setup, prop.multiProcessorCount);
    for (auto& slot : slots_) {
      check(cudaHostAlloc(&slot.staging.data, setup.staging_bytes, cudaHostAllocPortable),
            "allocating pinned staging memory");
      slot.staging.bytes = setup.staging_bytes;
    }
    create_lanes(stream_priorities, int(prop.sharedMemPerBlockOptin));
  } catch (...) {
    destroy();
    throw;
  }
}

DeviceResources::~DeviceResources() {
  destroy();
}

void DeviceResources::create_partitions(const DeviceSetup& setup, int device_sms) {
  if (!setup.partitions.any()) {
    partitions_.push_back({"device", unsigned(device_sms), nullptr, primary_});
    plan_.partitions.push_back({"device", 1, unsigned(device_sms)});
    return;
  }
  const DriverApi& api = DriverApi::get();
  if (!api.green_contexts)
    throw CudaError("SM partitions need green contexts, which this CUDA driver lacks (12.4+)",
                    cudaErrorNotSupported);
  CUdevice dev{};
  check_driver(api.device_get(&dev, device_), "cuDeviceGet");
  CUdevResource all{};
  check_driver(api.device_get_resource(dev, &all, CU_DEV_RESOURCE_TYPE_SM),
               "cuDeviceGetDevResource");
  // Split once into groups of the smallest partition size; partitions are whole groups.
  const unsigned granularity = std::max(1u, all.sm.minSmPartitionSize);
  unsigned groups = all.sm.smCount / granularity;
  std::vector<CUdevResource> group(groups);
  CUdevResource remaining{};
  check_driver(api.split_by_count(group.data(), &groups, &all, &remaining, 0, granularity),
               "cuDevSmResourceSplitByCount");
  plan_ = plan_partitions(setup.partitions, groups, granularity);
  unsigned next = 0;
  for (const auto& planned : plan_.partitions) {
    CUdevResourceDesc desc{};
    check_driver(api.generate_desc(&desc, &group[next], planned.groups),
                 "cuDevResourceGenerateDesc");
    next += planned.groups;
    Partition p{planned.name, planned.sms, nullptr, nullptr};
    check_driver(api.green_create(&p.green, desc, dev, CU_GREEN_CTX_DEFAULT_STREAM),
                 "cuGreenCtxCreate");
    partitions_.push_back(p);
    check_driver(api.ctx_from_green(&partitions_.back().context, p.green), "cuCtxFromGreenCtx");
  }
}

void DeviceResources::create_lanes(const int stream_priorities[3], int shared_per_block) {
  const DriverApi& api = DriverApi::get();
  for (auto& slot : slots_) {
    slot.lanes.resize(partitions_.size());
    for (std::size_t p = 0; p < partitions_.size(); ++p) {
      make_current(int(p));
      SlotResources& lane = slot.lanes[p];
      for (int level = 0; level < 3; ++level) {
        if (partitions_[p].green) {
          CUstream stream{};
          check_driver(api.green_stream_create(&stream, partitions_[p].green,
                                               CU_STREAM_NON_BLOCKING, stream_priorities[level]),
                       "cuGreenCtxStreamCreate");
          lane.streams[level] = stream;
        } else {
          check(cudaStreamCreateWithPriority(&lane.streams[level], cudaStreamNonBlocking,
                                             stream_priorities[level]),
                "cudaStreamCreateWithPriority");
        }
      }
      if (cublasCreate(&lane.blas) != CUBLAS_STATUS_SUCCESS)
        throw CudaError("cuBLAS could not be initialised", cudaErrorInitializationError);
      check(cudaEventCreate(&lane.start), "cudaEventCreate");
      check(cudaEventCreate(&lane.stop), "cudaEventCreate");
      lane.sm_count = int(partitions_[p].sms);
      lane.max_shared_per_block = shared_per_block;
    }
  }
  make_current(0);
}

void DeviceResources::destroy() noexcept {
  const DriverApi& api = DriverApi::get();
  for (auto& slot : slots_) {
    for (std::size_t p = 0; p < slot.lanes.size(); ++p) {
      make_current(int(p));
      SlotResources& lane = slot.lanes[p];
      for (auto s : lane.streams)
        if (s) cudaStreamDestroy(s);
      if (lane.blas) cublasDestroy(lane.blas);
      if (lane.start) cudaEventDestroy(lane.start);
      if (lane.stop) cudaEventDestroy(lane.stop);
    }
    slot.lanes.clear();
    if (slot.staging.data) cudaFreeHost(slot.staging.data);
    slot.staging = {};
  }
  if (primary_) api.ctx_set_current(primary_);
  for (auto& p : partitions_)
    if (p.green && api.green_destroy) api.green_destroy(p.green);
  partitions_.clear();
}

int DeviceResources::partition_index(const std::string& name) const {
  for (std::size_t i = 0; i < partitions_.size(); ++i)
    if (partitions_[i].name == name) return int(i);
  return -1;
}

void DeviceResources::make_current(int partition) const {
  // Errors here surface on the job's first CUDA call, with that call's text.
  const CUcontext context = partition >= 0 && std::size_t(partition) < partitions_.size() &&
                                    partitions_[partition].context
                                ? partitions_[partition].context
                                : primary_;
  DriverApi::get().ctx_set_current(context);
}

std::string DeviceResources::describe() const {
  std::string out;
  for (const auto& p : partitions_)
    out += (out.empty() ? "" : ", ") + p.name + " " + std::to_string(p.sms) + " SMs";
  return out;
}

}  // namespace vgpu::executors::cuda
