// Contexts: the program sees one primary context; on the host its session has a context of
// its own. Push, pop and current follow the driver's per-thread rules.
#include <vector>

#include "driver_state.hpp"

using vgpu::guest::cuda::Context;
using vgpu::guest::cuda::current_context;
using vgpu::guest::cuda::Driver;
namespace cc = vgpu::cuda_calls;

namespace {
CUcontext primary_handle(Driver& drv) {
  return reinterpret_cast<CUcontext>(&drv.primary);
}

bool known(Driver& drv, CUcontext ctx) {
  return ctx == primary_handle(drv);
}

std::vector<CUcontext>& context_stack() {
  thread_local std::vector<CUcontext> stack;
  return stack;
}

// cudaDeviceSetLimit and friends: the values a program may read back.
struct Limits {
  std::size_t values[CU_LIMIT_MAX] = {1024, 1 << 20, 8 << 20, 2, 2048, 0, 0};
};
Limits& limits() {
  static Limits l;
  return l;
}
}  // namespace

extern "C" {

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice dev) {
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
  ++drv.primary.retained;
  *ctx = primary_handle(drv);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  VGPU_ENTER();
  if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
  if (drv.primary.retained > 0) --drv.primary.retained;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int* flags, int* active) {
  if (!flags || !active) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
  *flags = drv.primary.flags;
  *active = drv.primary.retained > 0;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags) {
  VGPU_ENTER();
  if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
  drv.primary.flags = flags;  // scheduling hints: the host decides how it waits
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxReset_v2(CUdevice dev) {
  VGPU_ENTER();
  if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
  return drv.link.call(cc::CtxSync{});
}

CUresult CUDAAPI cuCtxGetCurrent(CUcontext* ctx) {
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  *ctx = current_context();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx) {
  VGPU_ENTER();
  if (ctx && !known(drv, ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  current_context() = ctx;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPushCurrent_v2(CUcontext ctx) {
  VGPU_ENTER();
  if (!known(drv, ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  context_stack().push_back(current_context());
  current_context() = ctx;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPopCurrent_v2(CUcontext* ctx) {
  VGPU_ENTER();
  if (!current_context()) return CUDA_ERROR_INVALID_CONTEXT;
  if (ctx) *ctx = current_context();
  auto& stack = context_stack();
  current_context() = stack.empty() ? nullptr : stack.back();
  if (!stack.empty()) stack.pop_back();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetDevice(CUdevice* dev) {
  if (!dev) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (!current_context()) return CUDA_ERROR_INVALID_CONTEXT;
  *dev = 0;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetFlags(unsigned int* flags) {
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  *flags = drv.primary.flags;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetId(CUcontext ctx, unsigned long long* id) {
  if (!id) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (ctx && !known(drv, ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  *id = 1;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetApiVersion(CUcontext ctx, unsigned int* version) {
  if (!version) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  *version = 3020;  // what the real driver reports for contexts made by any current API
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSynchronize() {
  VGPU_ENTER();
  return drv.link.call(cc::CtxSync{});
}

CUresult CUDAAPI cuCtxSynchronize_v2(CUcontext ctx) {
  VGPU_ENTER();
  if (ctx && !known(drv, ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  return drv.link.call(cc::CtxSync{});
}

CUresult CUDAAPI cuCtxGetStreamPriorityRange(int* least, int* greatest) {
  VGPU_ENTER();
  if (least) *least = drv.link.device().least_priority;
  if (greatest) *greatest = drv.link.device().greatest_priority;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetLimit(size_t* value, CUlimit limit) {
  if (!value || int(limit) < 0 || limit >= CU_LIMIT_MAX) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  *value = limits().values[limit];
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetLimit(CUlimit limit, size_t value) {
  if (int(limit) < 0 || limit >= CU_LIMIT_MAX) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  // Kept for reading back; the host's session keeps the driver's defaults.
  limits().values[limit] = value;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetCacheConfig(CUfunc_cache* config) {
  if (!config) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  *config = CU_FUNC_CACHE_PREFER_NONE;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCacheConfig(CUfunc_cache) {
  VGPU_ENTER();
  return CUDA_SUCCESS;  // a preference; the driver may ignore it too
}

CUresult CUDAAPI cuModuleGetLoadingMode(CUmoduleLoadingMode* mode) {
  if (!mode) return CUDA_ERROR_INVALID_VALUE;
  *mode = CU_MODULE_EAGER_LOADING;
  return CUDA_SUCCESS;
}

}  // extern "C"
