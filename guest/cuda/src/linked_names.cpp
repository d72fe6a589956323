// Driver functions that libraries take by name with dlsym() rather than through
// cuGetProcAddress: cuBLAS and cuBLASLt (13.1) resolve 90 names that way when they start, and
// give up ("Driver API initialization failed") if one is missing. The CUDA runtime asks
// cuGetProcAddress for everything else, so only such names need a symbol of their own here.
//
// Two kinds: the CUDA 2-era names of functions whose `_v2` this library implements, with the same
// arguments (forwarded), and names it does not implement, which log the name once and answer
// CUDA_ERROR_NOT_SUPPORTED when called, as the functions cuGetProcAddress hands out for unknown
// names do. <cuda.h> is not included: it renames some of these to their `_v2` forms.
#include "entry_points.hpp"

extern "C" {

// Same arguments as their _v2 forms (defined in api_context.cpp and api_stream.cpp).
int cuCtxPopCurrent_v2(void** context);
int cuCtxPushCurrent_v2(void* context);
int cuDevicePrimaryCtxRelease_v2(int device);
int cuDevicePrimaryCtxReset_v2(int device);
int cuEventElapsedTime_v2(float* ms, void* start, void* end);

int cuCtxPopCurrent(void** context) {
  return cuCtxPopCurrent_v2(context);
}
int cuCtxPushCurrent(void* context) {
  return cuCtxPushCurrent_v2(context);
}
int cuDevicePrimaryCtxRelease(int device) {
  return cuDevicePrimaryCtxRelease_v2(device);
}
int cuDevicePrimaryCtxReset(int device) {
  return cuDevicePrimaryCtxReset_v2(device);
}
int cuEventElapsedTime(float* ms, void* start, void* end) {
  return cuEventElapsedTime_v2(ms, start, end);
}

// One device: no peer to reach (what a single-GPU host answers).
int cuDeviceCanAccessPeer(int* can, int, int) {
  if (!can) return 1;  // CUDA_ERROR_INVALID_VALUE
  *can = 0;
  return 0;
}

#define VGPU_NOT_SUPPORTED(name)                              \
  int name() {                                                \
    return vgpu::guest::cuda::report_unsupported_call(#name); \
  }
VGPU_NOT_SUPPORTED(cuCtxDisablePeerAccess)
VGPU_NOT_SUPPORTED(cuCtxEnablePeerAccess)
VGPU_NOT_SUPPORTED(cuGraphDestroy)
VGPU_NOT_SUPPORTED(cuGraphExecDestroy)
VGPU_NOT_SUPPORTED(cuGraphExecKernelNodeSetParams)
VGPU_NOT_SUPPORTED(cuGraphGetNodes)
VGPU_NOT_SUPPORTED(cuGraphInstantiate)
VGPU_NOT_SUPPORTED(cuGraphKernelNodeGetParams)
VGPU_NOT_SUPPORTED(cuGraphLaunch)
VGPU_NOT_SUPPORTED(cuGraphNodeGetType)
VGPU_NOT_SUPPORTED(cuLinkAddData_v2)
VGPU_NOT_SUPPORTED(cuLinkAddFile_v2)
VGPU_NOT_SUPPORTED(cuLinkComplete)
VGPU_NOT_SUPPORTED(cuLinkCreate_v2)
VGPU_NOT_SUPPORTED(cuLinkDestroy)
VGPU_NOT_SUPPORTED(cuMemPrefetchAsync)
VGPU_NOT_SUPPORTED(cuMemcpy2DAsync_v2)
VGPU_NOT_SUPPORTED(cuStreamBatchMemOp)
VGPU_NOT_SUPPORTED(cuStreamBeginCapture_v2)
VGPU_NOT_SUPPORTED(cuStreamEndCapture)
VGPU_NOT_SUPPORTED(cuStreamWaitValue32)
VGPU_NOT_SUPPORTED(cuTensorMapEncodeTiled)
#undef VGPU_NOT_SUPPORTED

}  // extern "C"
