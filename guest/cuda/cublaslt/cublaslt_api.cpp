// libvgpu-cublaslt: the guest's libcublasLt.so.13. NVIDIA's cuBLASLt, like its cuBLAS, reads the
// NVIDIA driver's internal objects and cannot run on the guest's driver (docs/remote-cuda.md).
// Programs load it all the same: PyTorch links it and uses it for a linear layer's product with
// its bias (`addmm`), and treats a heuristic that finds no algorithm as "not for this product",
// running the product through cuBLAS instead — the guest's, on the host. So this library keeps
// handles and descriptors in the guest, and its heuristic finds nothing; the product itself
// (cublasLtMatmul) is not run, and every other name answers NOT_SUPPORTED by name (stubs
// generated from the toolkit's libcublasLt).
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <new>

#include "library_facts.hpp"
#include "not_supported.hpp"

struct cublasLtContext {};

namespace {

template <typename Descriptor>
cublasStatus_t create(Descriptor** made) {
  if (!made) return CUBLAS_STATUS_INVALID_VALUE;
  *made = new (std::nothrow) Descriptor{};
  return *made ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

// In place, into a descriptor the caller holds: as long as it has room for the opaque type.
template <typename Descriptor>
cublasStatus_t init(Descriptor* held, std::size_t size) {
  if (!held || size < sizeof(Descriptor)) return CUBLAS_STATUS_INVALID_VALUE;
  *held = Descriptor{};
  return CUBLAS_STATUS_SUCCESS;
}

template <typename Descriptor>
cublasStatus_t destroy(Descriptor* held) {
  delete held;  // null is allowed, as NVIDIA's library allows it
  return CUBLAS_STATUS_SUCCESS;
}

// Attributes are accepted (their values are never needed: no product runs here) when the call
// is well formed, as the real library would accept them.
cublasStatus_t accept(const void* held, const void* value, std::size_t size) {
  return held && value && size ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

}  // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  return create(handle);
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

size_t cublasLtGetVersion(void) {
  return CUBLAS_VERSION;
}

size_t cublasLtGetCudartVersion(void) {
  return CUDART_VERSION;
}

cublasStatus_t cublasLtGetProperty(libraryPropertyType type, int* value) {
  return vgpu::guest::cublas::version_property(type, value);
}

const char* cublasLtGetStatusName(cublasStatus_t status) {
  return vgpu::guest::cublas::status_name(status);
}

const char* cublasLtGetStatusString(cublasStatus_t status) {
  return cublasLtGetStatusName(status);
}

unsigned cublasLtDisableCpuInstructionsSetMask(unsigned mask) {
  return mask;  // nothing here uses the CPU's instruction sets selectively
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t,
                                        cudaDataType_t) {
  return create(desc);
}
cublasStatus_t cublasLtMatmulDescInit_internal(cublasLtMatmulDesc_t desc, size_t size,
                                               cublasComputeType_t, cudaDataType_t) {
  return init(desc, size);
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  return destroy(desc);
}
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                              cublasLtMatmulDescAttributes_t, const void* buf,
                                              size_t size) {
  return accept(desc, buf, size);
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType, uint64_t,
                                          uint64_t, int64_t) {
  return create(layout);
}
cublasStatus_t cublasLtMatrixLayoutInit_internal(cublasLtMatrixLayout_t layout, size_t size,
                                                 cudaDataType, uint64_t, uint64_t, int64_t) {
  return init(layout, size);
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  return destroy(layout);
}
cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t layout,
                                                cublasLtMatrixLayoutAttribute_t, const void* buf,
                                                size_t size) {
  return accept(layout, buf, size);
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  return create(pref);
}
cublasStatus_t cublasLtMatmulPreferenceInit_internal(cublasLtMatmulPreference_t pref, size_t size) {
  return init(pref, size);
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  return destroy(pref);
}
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t,
                                                    const void* buf, size_t size) {
  return accept(pref, buf, size);
}

// No algorithm, for any product: the caller falls back to cuBLAS (PyTorch does, saying so once).
cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t[], int* returned) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!desc || !a || !b || !c || !d || !pref || requested <= 0 || !returned)
    return CUBLAS_STATUS_INVALID_VALUE;
  *returned = 0;
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
