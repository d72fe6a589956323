// The few CUDA driver API calls the executor needs (green contexts, context switching), looked
// up at run time through the runtime's cudaGetDriverEntryPointByVersion. Linking libcuda
// directly would make the plugin fail to load on machines without a driver, where it must
// instead report "no CUDA device" so the mediator can fall back to the cpu executor.
#pragma once

#include <cuda.h>

namespace vgpu::executors::cuda {

struct DriverApi {
  decltype(&::cuCtxGetCurrent) ctx_get_current = nullptr;
  decltype(&::cuCtxSetCurrent) ctx_set_current = nullptr;
  decltype(&::cuDeviceGet) device_get = nullptr;
  decltype(&::cuDeviceGetDevResource) device_get_resource = nullptr;
  decltype(&::cuDevSmResourceSplitByCount) split_by_count = nullptr;
  decltype(&::cuDevResourceGenerateDesc) generate_desc = nullptr;
  decltype(&::cuGreenCtxCreate) green_create = nullptr;
  decltype(&::cuGreenCtxDestroy) green_destroy = nullptr;
  decltype(&::cuCtxFromGreenCtx) ctx_from_green = nullptr;
  decltype(&::cuGreenCtxStreamCreate) green_stream_create = nullptr;
  decltype(&::cuGetErrorString) error_string = nullptr;
  bool green_contexts = false;  // all the green-context calls above were found

  // Throws CudaError when a basic entry point is missing.
  static const DriverApi& get();
};

// Throws CudaError with the driver's error text.
void check_driver(CUresult r, const char* what);

}  // namespace vgpu::executors::cuda
