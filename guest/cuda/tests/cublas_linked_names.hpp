// The driver functions cuBLAS and cuBLASLt (13.1) take by name with dlsym() rather than through
// cuGetProcAddress; they give up ("Driver API initialization failed") if one is missing. Every
// libcuda.so.1 they may load must export them: the guest library (linked_names.cpp) and the
// tracing driver (driver_trace.cpp). X-macro lists: X(name) for each.
#pragma once

// clang-format off
// The driver's entry functions.
#define VGPU_CUBLAS_LINKED_ENTRY_NAMES(X) \
  X(cuDriverGetVersion) X(cuGetExportTable) X(cuGetProcAddress_v2) X(cuInit)

// The rest.
#define VGPU_CUBLAS_LINKED_OTHER_NAMES(X) \
  X(cuCtxDisablePeerAccess) X(cuCtxEnablePeerAccess) X(cuCtxGetCurrent) \
  X(cuCtxGetDevice) X(cuCtxGetLimit) X(cuCtxPopCurrent) \
  X(cuCtxPopCurrent_v2) X(cuCtxPushCurrent) X(cuCtxPushCurrent_v2) \
  X(cuCtxSetCurrent) X(cuCtxSynchronize) X(cuDeviceCanAccessPeer) \
  X(cuDeviceGet) X(cuDeviceGetAttribute) X(cuDeviceGetName) \
  X(cuDevicePrimaryCtxRelease) X(cuDevicePrimaryCtxReset) X(cuDevicePrimaryCtxRetain) \
  X(cuDeviceTotalMem_v2) X(cuEventCreate) X(cuEventDestroy_v2) \
  X(cuEventElapsedTime) X(cuEventQuery) X(cuEventRecord) \
  X(cuEventSynchronize) X(cuFuncGetAttribute) X(cuFuncSetAttribute) \
  X(cuFuncSetCacheConfig) X(cuGetErrorName) X(cuGetErrorString) \
  X(cuGraphDestroy) X(cuGraphExecDestroy) X(cuGraphExecKernelNodeSetParams) \
  X(cuGraphGetNodes) X(cuGraphInstantiate) X(cuGraphKernelNodeGetParams) \
  X(cuGraphLaunch) X(cuGraphNodeGetType) X(cuKernelGetAttribute) \
  X(cuKernelGetFunction) X(cuKernelGetLibrary) X(cuKernelSetAttribute) \
  X(cuLaunchKernel) X(cuLaunchKernelEx) X(cuLibraryGetKernel) \
  X(cuLibraryLoadData) X(cuLibraryUnload) X(cuLinkAddData_v2) \
  X(cuLinkAddFile_v2) X(cuLinkComplete) X(cuLinkCreate_v2) \
  X(cuLinkDestroy) X(cuMemAlloc_v2) X(cuMemFree_v2) \
  X(cuMemGetInfo_v2) X(cuMemPrefetchAsync) X(cuMemcpy) \
  X(cuMemcpy2DAsync_v2) X(cuMemcpyAsync) X(cuMemcpyDtoDAsync_v2) \
  X(cuMemcpyDtoH_v2) X(cuMemcpyHtoD_v2) X(cuMemsetD8_v2) \
  X(cuModuleGetFunction) X(cuModuleGetGlobal_v2) X(cuModuleLoadData) \
  X(cuModuleLoadDataEx) X(cuModuleLoadFatBinary) X(cuModuleUnload) \
  X(cuOccupancyMaxActiveBlocksPerMultiprocessor) X(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags) X(cuPointerGetAttribute) \
  X(cuPointerGetAttributes) X(cuStreamBatchMemOp) X(cuStreamBeginCapture_v2) \
  X(cuStreamCreate) X(cuStreamDestroy_v2) X(cuStreamEndCapture) \
  X(cuStreamGetCaptureInfo_v2) X(cuStreamGetCtx) X(cuStreamIsCapturing) \
  X(cuStreamSynchronize) X(cuStreamWaitEvent) X(cuStreamWaitValue32) \
  X(cuTensorMapEncodeTiled) X(cuThreadExchangeStreamCaptureMode)
// clang-format on
