// The CUDA driver calls that remote sessions (docs/remote-cuda.md) run for guests, looked up at
// run time like the executor's own (driver_api.hpp), so the plugin still loads without a driver.
#pragma once

#include <cuda.h>

#include <string>

namespace vgpu::executors::cuda::remote {

struct RemoteDriver {
  decltype(&::cuDeviceGet) device_get = nullptr;
  decltype(&::cuDeviceGetName) device_get_name = nullptr;
  decltype(&::cuDeviceGetUuid_v2) device_get_uuid = nullptr;
  decltype(&::cuDeviceTotalMem_v2) device_total_mem = nullptr;
  decltype(&::cuDeviceGetAttribute) device_get_attribute = nullptr;
  decltype(&::cuDriverGetVersion) driver_get_version = nullptr;
  decltype(&::cuCtxCreate_v4) ctx_create = nullptr;
  decltype(&::cuCtxDestroy_v2) ctx_destroy = nullptr;
  decltype(&::cuCtxSetCurrent) ctx_set_current = nullptr;
  decltype(&::cuCtxGetCurrent) ctx_get_current = nullptr;
  decltype(&::cuCtxSynchronize) ctx_synchronize = nullptr;
  decltype(&::cuCtxGetStreamPriorityRange) ctx_get_stream_priority_range = nullptr;
  decltype(&::cuMemAlloc_v2) mem_alloc = nullptr;
  decltype(&::cuMemFree_v2) mem_free = nullptr;
  decltype(&::cuMemcpyHtoDAsync_v2) memcpy_htod_async = nullptr;
  decltype(&::cuMemcpyDtoHAsync_v2) memcpy_dtoh_async = nullptr;
  decltype(&::cuMemcpyDtoDAsync_v2) memcpy_dtod_async = nullptr;
  decltype(&::cuMemsetD8Async) memset_d8_async = nullptr;
  decltype(&::cuMemsetD16Async) memset_d16_async = nullptr;
  decltype(&::cuMemsetD32Async) memset_d32_async = nullptr;
  decltype(&::cuMemGetInfo_v2) mem_get_info = nullptr;
  decltype(&::cuMemHostRegister_v2) mem_host_register = nullptr;
  decltype(&::cuModuleLoadData) module_load_data = nullptr;
  decltype(&::cuModuleUnload) module_unload = nullptr;
  decltype(&::cuModuleGetFunction) module_get_function = nullptr;
  decltype(&::cuModuleGetGlobal_v2) module_get_global = nullptr;
  decltype(&::cuFuncGetParamInfo) func_get_param_info = nullptr;
  decltype(&::cuFuncGetAttribute) func_get_attribute = nullptr;
  decltype(&::cuFuncSetAttribute) func_set_attribute = nullptr;
  decltype(&::cuLaunchKernel) launch_kernel = nullptr;
  decltype(&::cuLaunchKernelEx) launch_kernel_ex = nullptr;
  decltype(&::cuOccupancyMaxActiveClusters) occupancy_active_clusters = nullptr;
  decltype(&::cuOccupancyMaxPotentialClusterSize) occupancy_cluster_size = nullptr;
  decltype(&::cuStreamCreateWithPriority) stream_create = nullptr;
  decltype(&::cuStreamDestroy_v2) stream_destroy = nullptr;
  decltype(&::cuStreamSynchronize) stream_synchronize = nullptr;
  decltype(&::cuStreamQuery) stream_query = nullptr;
  decltype(&::cuStreamWaitEvent) stream_wait_event = nullptr;
  decltype(&::cuEventCreate) event_create = nullptr;
  decltype(&::cuEventDestroy_v2) event_destroy = nullptr;
  decltype(&::cuEventRecord) event_record = nullptr;
  decltype(&::cuEventSynchronize) event_synchronize = nullptr;
  decltype(&::cuEventQuery) event_query = nullptr;
  decltype(&::cuEventElapsedTime_v2) event_elapsed = nullptr;
  decltype(&::cuOccupancyMaxActiveBlocksPerMultiprocessor) occupancy = nullptr;
  decltype(&::cuOccupancyAvailableDynamicSMemPerBlock) occupancy_shared_memory = nullptr;
  decltype(&::cuGetErrorString) error_string = nullptr;
  // CUDA 12.1+; null when the driver lacks it (a low VM's context then spins as by default).
  decltype(&::cuCtxSetFlags) ctx_set_flags = nullptr;
  // Green contexts (CUDA 12.4+), for SM partitions in a shared pool's process; all null when
  // the driver lacks them.
  decltype(&::cuDevicePrimaryCtxRetain) primary_ctx_retain = nullptr;
  decltype(&::cuDeviceGetDevResource) device_get_resource = nullptr;
  decltype(&::cuDevSmResourceSplitByCount) split_by_count = nullptr;
  decltype(&::cuDevResourceGenerateDesc) generate_desc = nullptr;
  decltype(&::cuGreenCtxCreate) green_create = nullptr;
  decltype(&::cuGreenCtxDestroy) green_destroy = nullptr;
  decltype(&::cuCtxFromGreenCtx) ctx_from_green = nullptr;
  bool green_contexts() const { return ctx_from_green != nullptr; }

  // Throws CudaError naming the first entry point the driver lacks.
  static const RemoteDriver& get();
  // "cuMemAlloc: out of memory" style text for a driver result.
  std::string describe(CUresult r) const;
};

}  // namespace vgpu::executors::cuda::remote
