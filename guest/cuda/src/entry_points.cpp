// Driver entry points by name: what cuGetProcAddress hands the CUDA runtime (and anything else
// that asks, such as PyTorch), and the generic answer for every name this library does not
// implement: a function that logs its name once and returns CUDA_ERROR_NOT_SUPPORTED.
#include <array>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "driver_state.hpp"
#include "entry_points.hpp"
#include "export_tables.hpp"

// Older forms of driver functions that <cuda.h> no longer declares (api_stream.cpp).
extern "C" CUresult CUDAAPI cuStreamGetCaptureInfo_v1(CUstream, CUstreamCaptureStatus*,
                                                      cuuint64_t*);
extern "C" CUresult CUDAAPI cuStreamGetCaptureInfo_v2(CUstream, CUstreamCaptureStatus*, cuuint64_t*,
                                                      CUgraph*, const CUgraphNode**, size_t*);

namespace vgpu::guest::cuda {

namespace {

struct Entry {
  const char* name;  // the base name, as the runtime asks for it
  void* function;    // the newest ABI of that name
  int since;         // the oldest CUDA version whose ABI for the name this is (0: every one)
};

// The _v2 memory functions took 32-bit sizes before CUDA 3.2; a caller asking for an older
// version gets "version not sufficient" rather than a function of the wrong shape.
// Deprecated names are still driver entry points the runtime may ask for.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
const Entry kEntries[] = {
    {"cuGetProcAddress", reinterpret_cast<void*>(&cuGetProcAddress_v2), 0},
    {"cuGetExportTable", reinterpret_cast<void*>(&cuGetExportTable), 0},
    {"cuEventElapsedTime", reinterpret_cast<void*>(&cuEventElapsedTime_v2), 0},
    {"cuDeviceGetUuid", reinterpret_cast<void*>(&cuDeviceGetUuid_v2), 0},
    // CUDA 13 gave cuCtxSynchronize a context argument; one context here, so the same work.
    {"cuCtxSynchronize", reinterpret_cast<void*>(&cuCtxSynchronize_v2), 13000},
    {"cuCtxGetApiVersion", reinterpret_cast<void*>(&cuCtxGetApiVersion), 0},
    {"cuCtxGetCacheConfig", reinterpret_cast<void*>(&cuCtxGetCacheConfig), 0},
    {"cuCtxGetCurrent", reinterpret_cast<void*>(&cuCtxGetCurrent), 0},
    {"cuCtxGetDevice", reinterpret_cast<void*>(&cuCtxGetDevice), 0},
    {"cuCtxGetFlags", reinterpret_cast<void*>(&cuCtxGetFlags), 0},
    {"cuCtxGetId", reinterpret_cast<void*>(&cuCtxGetId), 0},
    {"cuCtxGetLimit", reinterpret_cast<void*>(&cuCtxGetLimit), 0},
    {"cuCtxGetStreamPriorityRange", reinterpret_cast<void*>(&cuCtxGetStreamPriorityRange), 0},
    {"cuCtxPopCurrent", reinterpret_cast<void*>(&cuCtxPopCurrent_v2), 0},
    {"cuCtxPushCurrent", reinterpret_cast<void*>(&cuCtxPushCurrent_v2), 0},
    {"cuCtxSetCacheConfig", reinterpret_cast<void*>(&cuCtxSetCacheConfig), 0},
    {"cuCtxSetCurrent", reinterpret_cast<void*>(&cuCtxSetCurrent), 0},
    {"cuCtxSetLimit", reinterpret_cast<void*>(&cuCtxSetLimit), 0},
    {"cuCtxSynchronize", reinterpret_cast<void*>(&cuCtxSynchronize), 0},
    {"cuDeviceComputeCapability", reinterpret_cast<void*>(&cuDeviceComputeCapability), 0},
    {"cuDeviceGet", reinterpret_cast<void*>(&cuDeviceGet), 0},
    {"cuDeviceGetAttribute", reinterpret_cast<void*>(&cuDeviceGetAttribute), 0},
    {"cuDeviceGetCount", reinterpret_cast<void*>(&cuDeviceGetCount), 0},
    {"cuDeviceGetName", reinterpret_cast<void*>(&cuDeviceGetName), 0},
    {"cuDeviceGetPCIBusId", reinterpret_cast<void*>(&cuDeviceGetPCIBusId), 0},
    {"cuDeviceGetUuid", reinterpret_cast<void*>(&cuDeviceGetUuid_v2), 0},
    // CUDA 13 gave cuCtxSynchronize a context argument; one context here, so the same work.
    {"cuCtxSynchronize", reinterpret_cast<void*>(&cuCtxSynchronize_v2), 13000},
    {"cuDevicePrimaryCtxGetState", reinterpret_cast<void*>(&cuDevicePrimaryCtxGetState), 0},
    {"cuDevicePrimaryCtxRelease", reinterpret_cast<void*>(&cuDevicePrimaryCtxRelease_v2), 0},
    {"cuDevicePrimaryCtxReset", reinterpret_cast<void*>(&cuDevicePrimaryCtxReset_v2), 0},
    {"cuDevicePrimaryCtxRetain", reinterpret_cast<void*>(&cuDevicePrimaryCtxRetain), 0},
    {"cuDevicePrimaryCtxSetFlags", reinterpret_cast<void*>(&cuDevicePrimaryCtxSetFlags_v2), 0},
    {"cuDeviceTotalMem", reinterpret_cast<void*>(&cuDeviceTotalMem_v2), 3020},
    {"cuDriverGetVersion", reinterpret_cast<void*>(&cuDriverGetVersion), 0},
    {"cuEventCreate", reinterpret_cast<void*>(&cuEventCreate), 0},
    {"cuEventDestroy", reinterpret_cast<void*>(&cuEventDestroy_v2), 0},
    {"cuEventElapsedTime", reinterpret_cast<void*>(&cuEventElapsedTime_v2), 0},
    {"cuEventQuery", reinterpret_cast<void*>(&cuEventQuery), 0},
    {"cuEventRecord", reinterpret_cast<void*>(&cuEventRecord), 0},
    {"cuEventRecordWithFlags", reinterpret_cast<void*>(&cuEventRecordWithFlags), 0},
    {"cuEventSynchronize", reinterpret_cast<void*>(&cuEventSynchronize), 0},
    {"cuFuncGetAttribute", reinterpret_cast<void*>(&cuFuncGetAttribute), 0},
    {"cuFuncGetName", reinterpret_cast<void*>(&cuFuncGetName), 0},
    {"cuFuncGetParamInfo", reinterpret_cast<void*>(&cuFuncGetParamInfo), 0},
    {"cuFuncSetCacheConfig", reinterpret_cast<void*>(&cuFuncSetCacheConfig), 0},
    {"cuFuncSetAttribute", reinterpret_cast<void*>(&cuFuncSetAttribute), 0},
    {"cuFuncGetModule", reinterpret_cast<void*>(&cuFuncGetModule), 0},
    {"cuOccupancyMaxActiveClusters", reinterpret_cast<void*>(&cuOccupancyMaxActiveClusters), 0},
    {"cuOccupancyMaxPotentialClusterSize",
     reinterpret_cast<void*>(&cuOccupancyMaxPotentialClusterSize), 0},
    {"cuStreamIsCapturing", reinterpret_cast<void*>(&cuStreamIsCapturing), 0},
    {"cuStreamGetCaptureInfo", reinterpret_cast<void*>(&cuStreamGetCaptureInfo_v1), 10010},
    {"cuStreamGetCaptureInfo", reinterpret_cast<void*>(&cuStreamGetCaptureInfo_v2), 11030},
    {"cuStreamGetCaptureInfo", reinterpret_cast<void*>(&cuStreamGetCaptureInfo), 12030},
    {"cuThreadExchangeStreamCaptureMode",
     reinterpret_cast<void*>(&cuThreadExchangeStreamCaptureMode), 0},
    {"cuStreamGetId", reinterpret_cast<void*>(&cuStreamGetId), 0},
    {"cuOccupancyAvailableDynamicSMemPerBlock",
     reinterpret_cast<void*>(&cuOccupancyAvailableDynamicSMemPerBlock), 0},
    {"cuKernelSetAttribute", reinterpret_cast<void*>(&cuKernelSetAttribute), 0},
    {"cuGetErrorName", reinterpret_cast<void*>(&cuGetErrorName), 0},
    {"cuGetErrorString", reinterpret_cast<void*>(&cuGetErrorString), 0},
    {"cuInit", reinterpret_cast<void*>(&cuInit), 0},
    {"cuKernelGetAttribute", reinterpret_cast<void*>(&cuKernelGetAttribute), 0},
    {"cuKernelGetFunction", reinterpret_cast<void*>(&cuKernelGetFunction), 0},
    {"cuKernelGetLibrary", reinterpret_cast<void*>(&cuKernelGetLibrary), 0},
    {"cuKernelGetParamInfo", reinterpret_cast<void*>(&cuKernelGetParamInfo), 0},
    {"cuKernelSetCacheConfig", reinterpret_cast<void*>(&cuKernelSetCacheConfig), 0},
    {"cuLaunchKernel", reinterpret_cast<void*>(&cuLaunchKernel), 0},
    {"cuLaunchKernelEx", reinterpret_cast<void*>(&cuLaunchKernelEx), 0},
    {"cuLibraryGetKernel", reinterpret_cast<void*>(&cuLibraryGetKernel), 0},
    {"cuLibraryGetModule", reinterpret_cast<void*>(&cuLibraryGetModule), 0},
    {"cuLibraryLoadData", reinterpret_cast<void*>(&cuLibraryLoadData), 0},
    {"cuLibraryUnload", reinterpret_cast<void*>(&cuLibraryUnload), 0},
    {"cuMemAllocHost", reinterpret_cast<void*>(&cuMemAllocHost_v2), 3020},
    {"cuMemAlloc", reinterpret_cast<void*>(&cuMemAlloc_v2), 3020},
    {"cuMemFreeHost", reinterpret_cast<void*>(&cuMemFreeHost), 0},
    {"cuMemFree", reinterpret_cast<void*>(&cuMemFree_v2), 3020},
    {"cuMemGetAddressRange", reinterpret_cast<void*>(&cuMemGetAddressRange_v2), 3020},
    {"cuMemGetInfo", reinterpret_cast<void*>(&cuMemGetInfo_v2), 3020},
    {"cuMemHostAlloc", reinterpret_cast<void*>(&cuMemHostAlloc), 0},
    {"cuMemHostRegister", reinterpret_cast<void*>(&cuMemHostRegister_v2), 0},
    {"cuMemHostUnregister", reinterpret_cast<void*>(&cuMemHostUnregister), 0},
    {"cuMemcpy", reinterpret_cast<void*>(&cuMemcpy), 0},
    {"cuMemcpyAsync", reinterpret_cast<void*>(&cuMemcpyAsync), 0},
    {"cuMemcpyDtoDAsync", reinterpret_cast<void*>(&cuMemcpyDtoDAsync_v2), 3020},
    {"cuMemcpyDtoD", reinterpret_cast<void*>(&cuMemcpyDtoD_v2), 3020},
    {"cuMemcpyDtoHAsync", reinterpret_cast<void*>(&cuMemcpyDtoHAsync_v2), 3020},
    {"cuMemcpyDtoH", reinterpret_cast<void*>(&cuMemcpyDtoH_v2), 3020},
    {"cuMemcpyHtoDAsync", reinterpret_cast<void*>(&cuMemcpyHtoDAsync_v2), 3020},
    {"cuMemcpyHtoD", reinterpret_cast<void*>(&cuMemcpyHtoD_v2), 3020},
    {"cuMemsetD16Async", reinterpret_cast<void*>(&cuMemsetD16Async), 0},
    {"cuMemsetD16", reinterpret_cast<void*>(&cuMemsetD16_v2), 3020},
    {"cuMemsetD32Async", reinterpret_cast<void*>(&cuMemsetD32Async), 0},
    {"cuMemsetD32", reinterpret_cast<void*>(&cuMemsetD32_v2), 3020},
    {"cuMemsetD8Async", reinterpret_cast<void*>(&cuMemsetD8Async), 0},
    {"cuMemsetD8", reinterpret_cast<void*>(&cuMemsetD8_v2), 3020},
    {"cuModuleGetFunction", reinterpret_cast<void*>(&cuModuleGetFunction), 0},
    {"cuModuleGetGlobal", reinterpret_cast<void*>(&cuModuleGetGlobal_v2), 3020},
    {"cuLibraryGetGlobal", reinterpret_cast<void*>(&cuLibraryGetGlobal), 0},
    {"cuModuleGetLoadingMode", reinterpret_cast<void*>(&cuModuleGetLoadingMode), 0},
    {"cuModuleLoadData", reinterpret_cast<void*>(&cuModuleLoadData), 0},
    {"cuModuleLoadDataEx", reinterpret_cast<void*>(&cuModuleLoadDataEx), 0},
    {"cuModuleLoadFatBinary", reinterpret_cast<void*>(&cuModuleLoadFatBinary), 0},
    {"cuModuleUnload", reinterpret_cast<void*>(&cuModuleUnload), 0},
    {"cuOccupancyMaxActiveBlocksPerMultiprocessor",
     reinterpret_cast<void*>(&cuOccupancyMaxActiveBlocksPerMultiprocessor), 0},
    {"cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags",
     reinterpret_cast<void*>(&cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags), 0},
    {"cuPointerGetAttribute", reinterpret_cast<void*>(&cuPointerGetAttribute), 0},
    {"cuPointerGetAttributes", reinterpret_cast<void*>(&cuPointerGetAttributes), 0},
    {"cuStreamCreate", reinterpret_cast<void*>(&cuStreamCreate), 0},
    {"cuStreamCreateWithPriority", reinterpret_cast<void*>(&cuStreamCreateWithPriority), 0},
    {"cuStreamDestroy", reinterpret_cast<void*>(&cuStreamDestroy_v2), 0},
    {"cuStreamGetCtx", reinterpret_cast<void*>(&cuStreamGetCtx), 0},
    {"cuStreamGetFlags", reinterpret_cast<void*>(&cuStreamGetFlags), 0},
    {"cuStreamGetPriority", reinterpret_cast<void*>(&cuStreamGetPriority), 0},
    {"cuStreamQuery", reinterpret_cast<void*>(&cuStreamQuery), 0},
    {"cuStreamSynchronize", reinterpret_cast<void*>(&cuStreamSynchronize), 0},
    {"cuStreamWaitEvent", reinterpret_cast<void*>(&cuStreamWaitEvent), 0},
};
#pragma GCC diagnostic pop

// ---- functions for names this library does not implement ----
constexpr std::size_t kUnsupportedSlots = 1024;
std::mutex unsupported_mutex;
std::vector<std::pair<std::string, bool>> unsupported_names;  // name, reported yet

CUresult report_unsupported(std::size_t slot) {
  std::lock_guard lock(unsupported_mutex);
  auto& [name, reported] = unsupported_names.at(slot);
  if (!reported) {
    reported = true;
    log_error(name + " is not supported by the vgpu guest driver (CUDA_ERROR_NOT_SUPPORTED)");
  }
  return CUDA_ERROR_NOT_SUPPORTED;
}

template <std::size_t Slot>
CUresult unsupported() {
  return report_unsupported(Slot);
}

template <std::size_t... Slots>
constexpr std::array<void*, sizeof...(Slots)> make_unsupported(std::index_sequence<Slots...>) {
  return {reinterpret_cast<void*>(&unsupported<Slots>)...};
}
const auto kUnsupported = make_unsupported(std::make_index_sequence<kUnsupportedSlots>{});

// A function for `name` that reports it; the same one each time the name is asked for.
void* unsupported_function(const char* name) {
  std::lock_guard lock(unsupported_mutex);
  for (std::size_t i = 0; i < unsupported_names.size(); ++i)
    if (unsupported_names[i].first == name) return kUnsupported[i];
  if (unsupported_names.size() == kUnsupportedSlots) return nullptr;
  unsupported_names.emplace_back(name, false);
  return kUnsupported[unsupported_names.size() - 1];
}

}  // namespace

const void* find_entry_point(const char* name, int cuda_version, bool& too_old) {
  // The newest variant of the name that the caller's version knows.
  const Entry* best = nullptr;
  bool named = false;
  for (const auto& e : kEntries)
    if (std::strcmp(e.name, name) == 0) {
      named = true;
      if (cuda_version >= e.since && (!best || e.since > best->since)) best = &e;
    }
  too_old = named && !best;
  return best ? best->function : nullptr;
}

int report_unsupported_call(const char* name) {
  void* f = unsupported_function(name);  // the name's own slot, which reports it once
  if (!f) return CUDA_ERROR_NOT_SUPPORTED;
  return reinterpret_cast<CUresult (*)()>(f)();
}

bool is_implemented(const char* name) {
  bool too_old = false;
  return find_entry_point(name, 1 << 30, too_old) != nullptr;
}

}  // namespace vgpu::guest::cuda

using namespace vgpu::guest::cuda;

extern "C" {

CUresult CUDAAPI cuGetProcAddress_v2(const char* symbol, void** pfn, int cuda_version,
                                     cuuint64_t flags, CUdriverProcAddressQueryResult* status) {
  if (!symbol || !pfn) return CUDA_ERROR_INVALID_VALUE;
  *pfn = nullptr;
  // Per-thread default stream variants (_ptsz/_ptds) are the same functions here: the host runs
  // a session's default-stream work on the context's default stream.
  bool too_old = false;
  if (const void* f = find_entry_point(symbol, cuda_version, too_old)) {
    *pfn = const_cast<void*>(f);
    if (status) *status = CU_GET_PROC_ADDRESS_SUCCESS;
    return CUDA_SUCCESS;
  }
  if (too_old || !*symbol) {
    // The runtime probes with an empty name; only a real name is worth saying.
    if (*symbol)
      log_debug(std::string("no ") + symbol + " for a caller of CUDA " +
                std::to_string(cuda_version) + ": only a newer form is provided");
    if (status)
      *status = too_old ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
                        : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
  }
  *pfn = unsupported_function(symbol);
  if (!*pfn) log_error(std::string("no ") + symbol + ": every slot for unsupported names is taken");
  if (status) *status = *pfn ? CU_GET_PROC_ADDRESS_SUCCESS : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
  return *pfn ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

// The CUDA 11.3 signature, without the status; cuda.h names only the newer one.
#undef cuGetProcAddress
CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int cuda_version,
                                  cuuint64_t flags);
CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int cuda_version,
                                  cuuint64_t flags) {
  return cuGetProcAddress_v2(symbol, pfn, cuda_version, flags, nullptr);
}

CUresult CUDAAPI cuGetExportTable(const void** table, const CUuuid* id) {
  return get_export_table(table, id);
}

}  // extern "C"
