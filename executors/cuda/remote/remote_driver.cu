#include <cuda_runtime.h>

#include <string>

#include "cuda_ops.cuh"
#include "remote_driver.hpp"

namespace vgpu::executors::cuda::remote {

namespace {
// By base name as of the toolkit this was built with, so each pointer has the prototype <cuda.h>
// gives that name (cuCtxCreate is cuCtxCreate_v4 in CUDA 13).
// `version`: for the few names whose newest ABI differs from the prototype used here.
template <typename Fn>
void require(Fn& fn, const char* symbol, unsigned version = CUDART_VERSION) {
  cudaDriverEntryPointQueryResult status{};
  void* pointer = nullptr;
  const cudaError_t e =
      cudaGetDriverEntryPointByVersion(symbol, &pointer, version, cudaEnableDefault, &status);
  if (e != cudaSuccess || status != cudaDriverEntryPointSuccess || !pointer)
    throw CudaError(std::string("the CUDA driver has no ") + symbol +
                        " (remote CUDA needs a CUDA 12.4 or newer driver)",
                    cudaErrorNotSupported);
  fn = reinterpret_cast<Fn>(pointer);
}

RemoteDriver load_all() {
  RemoteDriver d;
  require(d.device_get, "cuDeviceGet");
  require(d.device_get_name, "cuDeviceGetName");
  require(d.device_get_uuid, "cuDeviceGetUuid");
  require(d.device_total_mem, "cuDeviceTotalMem");
  require(d.device_get_attribute, "cuDeviceGetAttribute");
  require(d.driver_get_version, "cuDriverGetVersion");
  require(d.ctx_create, "cuCtxCreate");
  require(d.ctx_destroy, "cuCtxDestroy");
  require(d.ctx_set_current, "cuCtxSetCurrent");
  require(d.ctx_get_current, "cuCtxGetCurrent");
  // CUDA 13's cuCtxSynchronize takes a context; this is the argument-less one (the current).
  require(d.ctx_synchronize, "cuCtxSynchronize", 12080);
  require(d.ctx_get_stream_priority_range, "cuCtxGetStreamPriorityRange");
  require(d.mem_alloc, "cuMemAlloc");
  require(d.mem_free, "cuMemFree");
  require(d.memcpy_htod_async, "cuMemcpyHtoDAsync");
  require(d.memcpy_dtoh_async, "cuMemcpyDtoHAsync");
  require(d.memcpy_dtod_async, "cuMemcpyDtoDAsync");
  require(d.memset_d8_async, "cuMemsetD8Async");
  require(d.memset_d16_async, "cuMemsetD16Async");
  require(d.memset_d32_async, "cuMemsetD32Async");
  require(d.mem_get_info, "cuMemGetInfo");
  require(d.mem_host_register, "cuMemHostRegister");
  require(d.module_load_data, "cuModuleLoadData");
  require(d.module_unload, "cuModuleUnload");
  require(d.module_get_function, "cuModuleGetFunction");
  require(d.module_get_global, "cuModuleGetGlobal");
  require(d.func_get_param_info, "cuFuncGetParamInfo");
  require(d.func_get_attribute, "cuFuncGetAttribute");
  require(d.func_set_attribute, "cuFuncSetAttribute");
  require(d.launch_kernel, "cuLaunchKernel");
  require(d.launch_kernel_ex, "cuLaunchKernelEx");
  require(d.occupancy_active_clusters, "cuOccupancyMaxActiveClusters");
  require(d.occupancy_cluster_size, "cuOccupancyMaxPotentialClusterSize");
  require(d.stream_create, "cuStreamCreateWithPriority");
  require(d.stream_destroy, "cuStreamDestroy");
  require(d.stream_synchronize, "cuStreamSynchronize");
  require(d.stream_query, "cuStreamQuery");
  require(d.stream_wait_event, "cuStreamWaitEvent");
  require(d.event_create, "cuEventCreate");
  require(d.event_destroy, "cuEventDestroy");
  require(d.event_record, "cuEventRecord");
  require(d.event_synchronize, "cuEventSynchronize");
  require(d.event_query, "cuEventQuery");
  require(d.event_elapsed, "cuEventElapsedTime");
  require(d.occupancy, "cuOccupancyMaxActiveBlocksPerMultiprocessor");
  require(d.occupancy_shared_memory, "cuOccupancyAvailableDynamicSMemPerBlock");
  require(d.error_string, "cuGetErrorString");
  try {
    require(d.ctx_set_flags, "cuCtxSetFlags");
  } catch (const CudaError&) {
  }
  RemoteDriver green;
  try {
    require(green.primary_ctx_retain, "cuDevicePrimaryCtxRetain");
    require(green.device_get_resource, "cuDeviceGetDevResource");
    require(green.split_by_count, "cuDevSmResourceSplitByCount");
    require(green.generate_desc, "cuDevResourceGenerateDesc");
    require(green.green_create, "cuGreenCtxCreate");
    require(green.green_destroy, "cuGreenCtxDestroy");
    require(green.ctx_from_green, "cuCtxFromGreenCtx");
    d.primary_ctx_retain = green.primary_ctx_retain;
    d.device_get_resource = green.device_get_resource;
    d.split_by_count = green.split_by_count;
    d.generate_desc = green.generate_desc;
    d.green_create = green.green_create;
    d.green_destroy = green.green_destroy;
    d.ctx_from_green = green.ctx_from_green;
  } catch (const CudaError&) {
    // No green contexts: a shared pool then runs in one context without an SM reserve.
  }
  return d;
}
}  // namespace

const RemoteDriver& RemoteDriver::get() {
  static const RemoteDriver driver = load_all();
  return driver;
}

std::string RemoteDriver::describe(CUresult r) const {
  const char* text = nullptr;
  if (error_string) error_string(r, &text);
  return text ? text : "CUresult " + std::to_string(int(r));
}

}  // namespace vgpu::executors::cuda::remote
