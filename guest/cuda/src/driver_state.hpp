// The guest driver's own objects and its one piece of global state. Handles given to the
// program (CUmodule, CUfunction, CUstream, ...) are pointers to these objects; the host's
// numbers for them stay inside. A handle the program passes in is looked up before use, so a
// stale or made-up one gets CUDA_ERROR_INVALID_HANDLE instead of a crash.
#pragma once

#include <cuda.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "remote_link.hpp"

namespace vgpu::guest::cuda {

struct Module;

struct Function {
  // False for a kernel of a library not yet looked up on the host (lazy loading, below): the
  // rest is filled in at its first use.
  bool resolved = false;
  std::uint64_t host = 0;
  Module* module = nullptr;
  std::string name;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> params;  // offset, size
  std::size_t param_bytes = 0;
  std::vector<std::int32_t> attributes;  // CUfunction_attribute order
  // Set before the kernel was looked up on the host: sent right after it is.
  std::vector<std::pair<std::int32_t, std::int32_t>> pending_settings;
};

struct Module {
  // 0 while the image has not gone to the host: a library loads when its first kernel or global
  // is used, as CUDA's lazy loading (the default) does, so a library's images for other GPUs, or
  // that the program never uses, cost nothing and fail nothing.
  std::uint64_t host = 0;
  std::vector<std::uint8_t> pending_image;
  std::string format;  // "fatbin", "cubin" or "PTX", for the log
  std::map<std::string, std::unique_ptr<Function>> functions;
  std::map<std::string, std::pair<std::uint64_t, std::size_t>> globals;  // address, bytes
};

struct Stream {
  std::uint64_t host = 0;
  unsigned flags = 0;
  int priority = 0;
};

struct Event {
  std::uint64_t host = 0;
  unsigned flags = 0;
};

// The one context a program sees per device: the primary context. Its storage slots are the
// CUDA runtime's (the context-local-storage export table).
struct Context {
  int device = 0;
  unsigned flags = 0;
  int retained = 0;
  struct Local {
    void* value = nullptr;
    void (*destroy)(CUcontext, void*, void*) = nullptr;
  };
  std::map<void*, Local> locals;
};

class Driver {
 public:
  static Driver& get();

  // Connects and opens the session once; later calls return the first answer.
  CUresult init();
  bool ready() const { return init_result_ == CUDA_SUCCESS && initialized_; }

  // The host's number for a stream handle (the default streams are 0), or false if unknown.
  bool host_stream(CUstream stream, std::uint64_t& host) const;
  Function* function(const void* handle) const;
  Module* module(const void* handle) const;
  Event* event(const void* handle) const;

  std::recursive_mutex mutex;  // every entry point holds it: one call at a time
  RemoteLink link;
  Context primary;
  std::map<std::uint64_t, std::size_t> allocations;  // device pointer -> size
  std::map<std::uint64_t, std::size_t> globals;      // modules' global variables, the same way
  // Whether `address` is device memory this program knows (an allocation or a global).
  bool is_device(std::uint64_t address) const;
  std::set<Module*> modules;
  std::set<Function*> functions;
  std::set<Stream*> streams;
  std::set<Event*> events;
  // Page-locked host memory as the program sees it: cuMemAllocHost's buffers (aligned_alloc's,
  // freed with free) and cuMemHostRegister's ranges, by start and size.
  std::map<std::uintptr_t, std::size_t> host_buffers, registered;
  // Whether [p, p + bytes) is page-locked: an asynchronous copy back there may return before
  // the copy is done, as CUDA allows only for page-locked memory.
  bool is_page_locked(const void* p, std::size_t bytes) const;

 private:
  bool initialized_ = false;
  CUresult init_result_ = CUDA_ERROR_NOT_INITIALIZED;
};

// The context current on this thread (a program may clear it).
CUcontext& current_context();

// Little-endian numbers in a host's answer; std::out_of_range when it is too short.
inline std::uint64_t u64_at(const std::vector<std::uint8_t>& b, std::size_t at = 0) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(b.at(at + i)) << (8 * i);
  return v;
}
inline std::uint32_t u32_at(const std::vector<std::uint8_t>& b, std::size_t at = 0) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(b.at(at + i)) << (8 * i);
  return v;
}

// Function attribute value from the host's list, 0 when absent.
int function_attribute(const Function& f, int attribute);

}  // namespace vgpu::guest::cuda

// The driver API's result for every entry point: holds the lock, checks initialisation.
#define VGPU_ENTER()                                          \
  ::vgpu::guest::cuda::trace_call(__func__);                  \
  auto& drv = ::vgpu::guest::cuda::Driver::get();             \
  std::lock_guard<std::recursive_mutex> vgpu_lock(drv.mutex); \
  if (!drv.ready()) return CUDA_ERROR_NOT_INITIALIZED
