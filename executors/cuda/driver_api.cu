#include <string>

#include "cuda_ops.cuh"
#include "driver_api.hpp"

namespace vgpu::executors::cuda {

namespace {
// Asks for each function as of the toolkit this was compiled with, so the pointer matches the
// prototype in <cuda.h>. Returns false when the driver lacks it.
template <typename Fn>
bool load(Fn& fn, const char* symbol) {
  cudaDriverEntryPointQueryResult status{};
  void* pointer = nullptr;
  const cudaError_t e = cudaGetDriverEntryPointByVersion(symbol, &pointer, CUDART_VERSION,
                                                         cudaEnableDefault, &status);
  if (e != cudaSuccess || status != cudaDriverEntryPointSuccess || !pointer) return false;
  fn = reinterpret_cast<Fn>(pointer);
  return true;
}

template <typename Fn>
void require(Fn& fn, const char* symbol) {
  if (!load(fn, symbol))
    throw CudaError(std::string("the CUDA driver has no ") + symbol, cudaErrorNotSupported);
}

DriverApi load_all() {
  DriverApi api;
  require(api.ctx_get_current, "cuCtxGetCurrent");
  require(api.ctx_set_current, "cuCtxSetCurrent");
  require(api.device_get, "cuDeviceGet");
  require(api.error_string, "cuGetErrorString");
  // Green contexts (CUDA 12.4+): optional; only SM partitioning needs them.
  api.green_contexts = load(api.device_get_resource, "cuDeviceGetDevResource") &&
                       load(api.split_by_count, "cuDevSmResourceSplitByCount") &&
                       load(api.generate_desc, "cuDevResourceGenerateDesc") &&
                       load(api.green_create, "cuGreenCtxCreate") &&
                       load(api.green_destroy, "cuGreenCtxDestroy") &&
                       load(api.ctx_from_green, "cuCtxFromGreenCtx") &&
                       load(api.green_stream_create, "cuGreenCtxStreamCreate");
  return api;
}
}  // namespace

const DriverApi& DriverApi::get() {
  static const DriverApi api = load_all();
  return api;
}

void check_driver(CUresult r, const char* what) {
  if (r == CUDA_SUCCESS) return;
  const char* text = nullptr;
  if (DriverApi::get().error_string) DriverApi::get().error_string(r, &text);
  throw CudaError(std::string(what) + ": " + (text ? text : "unknown driver error") +
                      " (CUresult " + std::to_string(int(r)) + ")",
                  cudaErrorUnknown);
}

}  // namespace vgpu::executors::cuda
