// A tracing libcuda.so.1 for finding what a library expects of the driver (issue 20): placed
// first on LD_LIBRARY_PATH of a program run natively, it forwards to the real driver
// (VGPU_REAL_LIBCUDA, default /usr/lib/x86_64-linux-gnu/libcuda.so.1) and prints to stderr every
// entry point looked up and every call of a few functions with their result. The CUDA runtime
// takes every driver function through cuGetProcAddress, so those few exports are all it needs.
// Private tables (cuGetExportTable) whose first word is their size are handed out as copies
// whose functions log each call — slot, the six register arguments, what the first words behind
// each pointer argument held afterwards, and the result — then forward to the real function
// (not the runtime interface and integrity tables: the runtime hashes their addresses).
// The names cuBLAS takes with dlsym() are exported as jumps to the real driver's functions.
// Its output, beside the guest library's VGPU_CUDA_LOG=2 trace of the same program, shows where
// the two drivers part. A diagnostic, not part of any product.
#include <cuda.h>
#include <dlfcn.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "cublas_linked_names.hpp"

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

// ---- private tables ----
constexpr std::size_t kMaxTables = 12, kMaxSlots = 128, kLinesPerSlot = 12;
using Word = std::uintptr_t;
using SlotFn = Word (*)(Word, Word, Word, Word, Word, Word);

struct WrappedTable {
  char name[9];           // the UUID's first four bytes in hex
  void* const* real;      // the driver's table
  void* copy[kMaxSlots];  // what the program gets
  std::atomic<unsigned> lines[kMaxSlots];
};
WrappedTable wrapped[kMaxTables];
std::atomic<std::size_t> wrapped_count{0};

// The words behind `address`, if they are readable (process_vm_readv fails instead of
// faulting).
template <std::size_t N>
bool peek(Word address, std::uint64_t (&out)[N]) {
  iovec local{out, sizeof out}, remote{reinterpret_cast<void*>(address), sizeof out};
  return address > 4096 &&
         process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(sizeof out);
}

void log_slot(std::size_t table, std::size_t slot, const Word (&args)[6], Word result) {
  auto& w = wrapped[table];
  if (w.lines[slot].fetch_add(1) >= kLinesPerSlot) return;
  std::fprintf(stderr, "driver-trace: table %s slot %zu (byte 0x%zx) args", w.name, slot,
               slot * sizeof(void*));
  for (Word a : args) std::fprintf(stderr, " %#lx", static_cast<unsigned long>(a));
  std::fprintf(stderr, " -> %#lx;", static_cast<unsigned long>(result));
  for (int i = 0; i < 6; ++i) {
    std::uint64_t words[2];
    if (peek(args[i], words))
      std::fprintf(stderr, " *a%d=[%#llx %#llx]", i, static_cast<unsigned long long>(words[0]),
                   static_cast<unsigned long long>(words[1]));
  }
  std::fprintf(stderr, "\n");
  // VGPU_TRACE_DUMP=<table>: the first 256 bytes behind each pointer argument of its calls.
  static const char* dump = std::getenv("VGPU_TRACE_DUMP");
  if (!dump || std::strcmp(dump, w.name) != 0) return;
  for (int i = 0; i < 6; ++i) {
    std::uint64_t words[32];
    if (!peek(args[i], words)) continue;
    std::fprintf(stderr, "driver-trace:   a%d:", i);
    for (auto word : words) std::fprintf(stderr, " %llx", static_cast<unsigned long long>(word));
    std::fprintf(stderr, "\n");
  }
}

// Forward first, log after: nothing may touch the argument registers (or the vector ones a
// function taking floats would use) before the real function has them.
template <std::size_t T, std::size_t S>
Word thunk(Word a0, Word a1, Word a2, Word a3, Word a4, Word a5) {
  const Word result = reinterpret_cast<SlotFn>(wrapped[T].real[S])(a0, a1, a2, a3, a4, a5);
  log_slot(T, S, {a0, a1, a2, a3, a4, a5}, result);
  return result;
}
template <std::size_t T, std::size_t... S>
constexpr std::array<void*, kMaxSlots> slot_thunks(std::index_sequence<S...>) {
  return {reinterpret_cast<void*>(&thunk<T, S>)...};
}
template <std::size_t... T>
constexpr std::array<std::array<void*, kMaxSlots>, kMaxTables> all_thunks(
    std::index_sequence<T...>) {
  return {slot_thunks<T>(std::make_index_sequence<kMaxSlots>())...};
}
const auto kThunks = all_thunks(std::make_index_sequence<kMaxTables>());

bool hashed_by_runtime(const CUuuid& id) {
  static constexpr std::uint8_t kCudart[4] = {0x6b, 0xd5, 0xfb, 0x6c};
  static constexpr std::uint8_t kIntegrity[4] = {0xd4, 0x08, 0x20, 0x55};
  return std::memcmp(id.bytes, kCudart, 4) == 0 || std::memcmp(id.bytes, kIntegrity, 4) == 0;
}

// A logging copy of a sized table, made once per table; the real one if it cannot be wrapped.
const void* wrap_table(const void* real, const CUuuid& id) {
  static std::atomic_flag busy = ATOMIC_FLAG_INIT;
  while (busy.test_and_set()) {
  }
  const void* result = real;
  const auto* slots = static_cast<void* const*>(real);
  const Word bytes = real ? reinterpret_cast<Word>(slots[0]) : 0;
  const std::size_t n = bytes / sizeof(void*);
  bool found = false;
  for (std::size_t t = 0; t < wrapped_count; ++t)
    if (wrapped[t].real == slots) {
      result = wrapped[t].copy;
      found = true;
    }
  static const bool enabled = [] {
    const char* v = std::getenv("VGPU_TRACE_TABLES");
    return !v || std::strcmp(v, "0") != 0;
  }();
  if (!found && enabled && real && !hashed_by_runtime(id) && bytes % sizeof(void*) == 0 && n >= 2 &&
      n <= kMaxSlots && wrapped_count < kMaxTables) {
    auto& w = wrapped[wrapped_count];
    std::snprintf(w.name, sizeof w.name, "%02x%02x%02x%02x", std::uint8_t(id.bytes[0]),
                  std::uint8_t(id.bytes[1]), std::uint8_t(id.bytes[2]), std::uint8_t(id.bytes[3]));
    w.real = slots;
    w.copy[0] = slots[0];
    for (std::size_t s = 1; s < n; ++s) w.copy[s] = slots[s] ? kThunks[wrapped_count][s] : nullptr;
    std::fprintf(stderr, "driver-trace: table %s has %zu slots, wrapped\n", w.name, n);
    result = w.copy;
    ++wrapped_count;
  }
  busy.clear();
  return result;
}

}  // namespace

extern "C" {

#undef cuGetProcAddress
CUresult CUDAAPI cuGetExportTable(const void** table, const CUuuid* id);
CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int version, cuuint64_t flags);

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
  // The runtime asks the driver for cuGetProcAddress itself and uses what it gets from then on:
  // hand out this library's, so that later lookups (and the private tables) are seen too.
  static const bool keep_lookups = !std::getenv("VGPU_TRACE_FIRST_LOOKUPS_ONLY");
  static const bool wrap_calls = !std::getenv("VGPU_TRACE_NO_CALLS");
  if (keep_lookups && r == CUDA_SUCCESS && symbol && pfn &&
      std::strcmp(symbol, "cuGetProcAddress") == 0)
    *pfn = version >= 12000 ? reinterpret_cast<void*>(&cuGetProcAddress_v2)
                            : reinterpret_cast<void*>(&cuGetProcAddress);
  if (keep_lookups && r == CUDA_SUCCESS && symbol && pfn &&
      std::strcmp(symbol, "cuGetExportTable") == 0)
    *pfn = reinterpret_cast<void*>(&cuGetExportTable);
  // A wrapper has one signature: it stands in only for the variant first looked up under its
  // name (cuCtxGetDevice at 13000 is the _v2 that takes a context too).
  if (wrap_calls && r == CUDA_SUCCESS && symbol && pfn && *pfn)
    for (const auto& t : kTraced)
      if (std::strcmp(t.name, symbol) == 0 && (!*t.real || *t.real == *pfn)) {
        *t.real = *pfn;
        *pfn = t.wrapper;
      }
  return r;
}

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
  if (r == CUDA_SUCCESS && table && *table && id) *table = wrap_table(*table, *id);
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

// ---- the names cuBLAS links by dlsym(): a jump to the real function, arguments untouched ----
#define VGPU_TRAMPOLINE(name)                                                          \
  extern "C" __attribute__((visibility("hidden"))) void* name##_target;                \
  void* name##_target = nullptr;                                                       \
  asm(".text\n.globl " #name "\n.type " #name ", @function\n" #name ":\n  jmp *" #name \
      "_target(%rip)\n.size " #name ", .-" #name "\n");
VGPU_CUBLAS_LINKED_OTHER_NAMES(VGPU_TRAMPOLINE)
#undef VGPU_TRAMPOLINE

namespace {
CUresult missing_in_real_driver() {
  return CUDA_ERROR_NOT_SUPPORTED;
}
__attribute__((constructor)) void resolve_trampolines() {
#define VGPU_RESOLVE(name)            \
  name##_target = real<void*>(#name); \
  if (!name##_target) name##_target = reinterpret_cast<void*>(&missing_in_real_driver);
  VGPU_CUBLAS_LINKED_OTHER_NAMES(VGPU_RESOLVE)
#undef VGPU_RESOLVE
}
}  // namespace
