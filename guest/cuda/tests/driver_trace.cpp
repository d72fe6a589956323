// A tracing libcuda.so.1 for finding what a library expects of the driver (issue 20): placed
// first on LD_LIBRARY_PATH of a program run natively, it forwards to the real driver
// (VGPU_REAL_LIBCUDA, default /usr/lib/x86_64-linux-gnu/libcuda.so.1) and prints to stderr every
// entry point looked up and every call of a few functions with their result. The CUDA runtime
// takes every driver function through cuGetProcAddress, so those few exports are all it needs.
// Its output, beside the guest library's VGPU_CUDA_LOG=2 trace of the same program, shows where
// the two drivers part. A diagnostic, not part of any product.
#include <cuda.h>
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void* real_library() {
  static void* handle = [] {
    const char* path = std::getenv("VGPU_REAL_LIBCUDA");
    void* h = dlopen(path ? path : "/usr/lib/x86_64-linux-gnu/libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) std::fprintf(stderr, "driver-trace: cannot open the real driver: %s\n", dlerror());
    return h;
  }();
  return handle;
}

template <typename Fn>
Fn real(const char* symbol) {
  void* h = real_library();
  return h ? reinterpret_cast<Fn>(dlsym(h, symbol)) : nullptr;
}

CUresult report(const char* call, CUresult r) {
  std::fprintf(stderr, "driver-trace: %s -> %d\n", call, int(r));
  return r;
}

// The functions traced: the real one is kept at lookup, the wrapper returned instead.
decltype(&cuModuleGetGlobal_v2) real_module_get_global;
decltype(&cuLibraryGetGlobal) real_library_get_global;
decltype(&cuMemcpyHtoD_v2) real_memcpy_htod;
decltype(&cuMemcpyHtoDAsync_v2) real_memcpy_htod_async;
decltype(&cuPointerGetAttribute) real_pointer_get_attribute;
decltype(&cuPointerGetAttributes) real_pointer_get_attributes;
decltype(&cuMemGetAddressRange_v2) real_mem_get_address_range;
decltype(&cuCtxGetDevice) real_ctx_get_device;
decltype(&cuLibraryGetKernel) real_library_get_kernel;
decltype(&cuKernelGetFunction) real_kernel_get_function;
decltype(&cuFuncGetAttribute) real_func_get_attribute;
decltype(&cuKernelGetAttribute) real_kernel_get_attribute;

CUresult CUDAAPI module_get_global(CUdeviceptr* p, size_t* n, CUmodule m, const char* name) {
  CUresult r = real_module_get_global(p, n, m, name);
  std::fprintf(stderr, "driver-trace: cuModuleGetGlobal(%s) bytes %zu\n", name, n ? *n : 0);
  return report("cuModuleGetGlobal", r);
}
CUresult CUDAAPI library_get_global(CUdeviceptr* p, size_t* n, CUlibrary l, const char* name) {
  CUresult r = real_library_get_global(p, n, l, name);
  std::fprintf(stderr, "driver-trace: cuLibraryGetGlobal(%s) bytes %zu\n", name, n ? *n : 0);
  return report("cuLibraryGetGlobal", r);
}
CUresult CUDAAPI memcpy_htod(CUdeviceptr d, const void* s, size_t n) {
  std::fprintf(stderr, "driver-trace: cuMemcpyHtoD %zu bytes\n", n);
  return report("cuMemcpyHtoD", real_memcpy_htod(d, s, n));
}
CUresult CUDAAPI memcpy_htod_async(CUdeviceptr d, const void* s, size_t n, CUstream st) {
  std::fprintf(stderr, "driver-trace: cuMemcpyHtoDAsync %zu bytes\n", n);
  return report("cuMemcpyHtoDAsync", real_memcpy_htod_async(d, s, n, st));
}
CUresult CUDAAPI pointer_get_attribute(void* data, CUpointer_attribute a, CUdeviceptr p) {
  std::fprintf(stderr, "driver-trace: cuPointerGetAttribute attribute %d\n", int(a));
  return report("cuPointerGetAttribute", real_pointer_get_attribute(data, a, p));
}
CUresult CUDAAPI pointer_get_attributes(unsigned n, CUpointer_attribute* a, void** data,
                                        CUdeviceptr p) {
  for (unsigned i = 0; i < n; ++i)
    std::fprintf(stderr, "driver-trace: cuPointerGetAttributes attribute %d\n", int(a[i]));
  return report("cuPointerGetAttributes", real_pointer_get_attributes(n, a, data, p));
}
CUresult CUDAAPI mem_get_address_range(CUdeviceptr* base, size_t* size, CUdeviceptr p) {
  return report("cuMemGetAddressRange", real_mem_get_address_range(base, size, p));
}
CUresult CUDAAPI ctx_get_device(CUdevice* d) {
  return report("cuCtxGetDevice", real_ctx_get_device(d));
}
CUresult CUDAAPI library_get_kernel(CUkernel* k, CUlibrary l, const char* name) {
  CUresult r = real_library_get_kernel(k, l, name);
  std::fprintf(stderr, "driver-trace: cuLibraryGetKernel(%s)\n", name);
  return report("cuLibraryGetKernel", r);
}
CUresult CUDAAPI kernel_get_function(CUfunction* f, CUkernel k) {
  return report("cuKernelGetFunction", real_kernel_get_function(f, k));
}
CUresult CUDAAPI func_get_attribute(int* v, CUfunction_attribute a, CUfunction f) {
  CUresult r = real_func_get_attribute(v, a, f);
  std::fprintf(stderr, "driver-trace: cuFuncGetAttribute %d = %d\n", int(a), v ? *v : 0);
  return report("cuFuncGetAttribute", r);
}
CUresult CUDAAPI kernel_get_attribute(int* v, CUfunction_attribute a, CUkernel k, CUdevice d) {
  CUresult r = real_kernel_get_attribute(v, a, k, d);
  std::fprintf(stderr, "driver-trace: cuKernelGetAttribute %d = %d\n", int(a), v ? *v : 0);
  return report("cuKernelGetAttribute", r);
}

struct Traced {
  const char* name;
  void** real;
  void* wrapper;
};
const Traced kTraced[] = {
    {"cuModuleGetGlobal", reinterpret_cast<void**>(&real_module_get_global),
     reinterpret_cast<void*>(&module_get_global)},
    {"cuLibraryGetGlobal", reinterpret_cast<void**>(&real_library_get_global),
     reinterpret_cast<void*>(&library_get_global)},
    {"cuMemcpyHtoD", reinterpret_cast<void**>(&real_memcpy_htod),
     reinterpret_cast<void*>(&memcpy_htod)},
    {"cuMemcpyHtoDAsync", reinterpret_cast<void**>(&real_memcpy_htod_async),
     reinterpret_cast<void*>(&memcpy_htod_async)},
    {"cuPointerGetAttribute", reinterpret_cast<void**>(&real_pointer_get_attribute),
     reinterpret_cast<void*>(&pointer_get_attribute)},
    {"cuPointerGetAttributes", reinterpret_cast<void**>(&real_pointer_get_attributes),
     reinterpret_cast<void*>(&pointer_get_attributes)},
    {"cuMemGetAddressRange", reinterpret_cast<void**>(&real_mem_get_address_range),
     reinterpret_cast<void*>(&mem_get_address_range)},
    {"cuCtxGetDevice", reinterpret_cast<void**>(&real_ctx_get_device),
     reinterpret_cast<void*>(&ctx_get_device)},
    {"cuLibraryGetKernel", reinterpret_cast<void**>(&real_library_get_kernel),
     reinterpret_cast<void*>(&library_get_kernel)},
    {"cuKernelGetFunction", reinterpret_cast<void**>(&real_kernel_get_function),
     reinterpret_cast<void*>(&kernel_get_function)},
    {"cuFuncGetAttribute", reinterpret_cast<void**>(&real_func_get_attribute),
     reinterpret_cast<void*>(&func_get_attribute)},
    {"cuKernelGetAttribute", reinterpret_cast<void**>(&real_kernel_get_attribute),
     reinterpret_cast<void*>(&kernel_get_attribute)},
};

}  // namespace

extern "C" {

CUresult CUDAAPI cuGetProcAddress_v2(const char* symbol, void** pfn, int version, cuuint64_t flags,
                                     CUdriverProcAddressQueryResult* status) {
  static const auto next = real<decltype(&cuGetProcAddress_v2)>("cuGetProcAddress_v2");
  if (!next) return CUDA_ERROR_NOT_INITIALIZED;
  CUdriverProcAddressQueryResult got{};
  const CUresult r = next(symbol, pfn, version, flags, &got);
  if (status) *status = got;
  std::fprintf(stderr, "driver-trace: lookup %s %d flags %llu -> %d status %d\n",
               symbol ? symbol : "(null)", version, static_cast<unsigned long long>(flags), int(r),
               int(got));
  if (r == CUDA_SUCCESS && symbol && pfn && *pfn)
    for (const auto& t : kTraced)
      if (std::strcmp(t.name, symbol) == 0) {
        *t.real = *pfn;
        *pfn = t.wrapper;
      }
  return r;
}

#undef cuGetProcAddress
CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int version, cuuint64_t flags) {
  return cuGetProcAddress_v2(symbol, pfn, version, flags, nullptr);
}

CUresult CUDAAPI cuGetExportTable(const void** table, const CUuuid* id) {
  static const auto next = real<decltype(&cuGetExportTable)>("cuGetExportTable");
  if (!next) return CUDA_ERROR_NOT_INITIALIZED;
  const CUresult r = next(table, id);
  std::fprintf(stderr, "driver-trace: export table ");
  for (auto b : id->bytes) std::fprintf(stderr, "%02x", std::uint8_t(b));
  std::fprintf(stderr, " -> %d\n", int(r));
  return r;
}

CUresult CUDAAPI cuInit(unsigned flags) {
  static const auto next = real<decltype(&cuInit)>("cuInit");
  return next ? next(flags) : CUDA_ERROR_NOT_INITIALIZED;
}

CUresult CUDAAPI cuDriverGetVersion(int* version) {
  static const auto next = real<decltype(&cuDriverGetVersion)>("cuDriverGetVersion");
  return next ? next(version) : CUDA_ERROR_NOT_INITIALIZED;
}

}  // extern "C"
