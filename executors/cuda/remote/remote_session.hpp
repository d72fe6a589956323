// One guest program's CUDA session, inside its own process (vgpu-cuda-session): a CUDA context
// (an address space of its own, so its kernels see only its own memory) and everything the
// program created there. Every handle and pointer the guest sends is checked against what this
// session owns before the driver sees it; allocations stay within the budget the mediator gives
// each batch (the VM's quota, less what its other sessions hold). docs/remote-cuda.md.
#pragma once

#include <cuda.h>

#include <functional>
#include <map>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "guest_memory.hpp"
#include "owned_objects.hpp"
#include "session_blas.hpp"
#include "vgpu/protocol/cuda_calls.hpp"

namespace vgpu::executors::cuda::remote {

struct SessionLimits {
  std::size_t allocations = 65536;
  std::size_t modules = 1024;
  std::size_t functions = 65536;
  std::size_t streams = 1024;
  std::size_t events = 65536;
};

class RemoteSession {
 public:
  // Creates the session's context on `device`. `priority_level`: the VM's (0 low .. 2 high); its
  // streams rank from the device's least priority up to that level's (a low VM's streams all
  // get the least). `quota_bytes`: the VM's memory quota (0: none), which mem_info reports as
  // the device's size. Throws std::runtime_error.
  RemoteSession(int device, int priority_level, std::uint64_t quota_bytes,
                SessionLimits limits = {});
  // A context made ahead (make_context), which the session then owns.
  struct Owned {
    CUcontext context;
  };
  RemoteSession(Owned made, int priority_level, std::uint64_t quota_bytes,
                SessionLimits limits = {});
  // A new context on `device`, not current on any thread. Throws std::runtime_error.
  static CUcontext make_context(int device);
  // The same in `shared`, a context other sessions use too (a pool that shares one context, for
  // priority across its VMs); the session then frees what it made there when it ends.
  RemoteSession(CUcontext shared, int priority_level, std::uint64_t quota_bytes,
                SessionLimits limits = {});
  ~RemoteSession();
  // Runs once the session has given back what it made (a pool's process then destroys the
  // session's green context).
  void when_released(std::function<void()> then) { released_ = std::move(then); }
  RemoteSession(const RemoteSession&) = delete;
  RemoteSession& operator=(const RemoteSession&) = delete;

  // Runs the batch's calls in order, stopping at the first that fails. Allocations that would
  // take the session's device memory past `budget_bytes` fail as out of memory. A batch that
  // cannot be decoded throws cuda_calls::CallError before anything runs.
  cuda_calls::BatchAnswer run(std::span<const std::uint8_t> batch, std::uint64_t budget_bytes);

  // The VM's shared memory, which the copies through shared memory name ranges of. Page-locks
  // it (once per process) so that the device copies straight from and into it.
  void use_shared_memory(std::shared_ptr<GuestMemory> memory);

  // The stream priorities the VM's streams may have: least, greatest (CUDA's numbers).
  std::pair<int, int> priority_range() const { return {least_priority_, stream_priority_ceiling_}; }
  // Device memory the session holds now.
  std::uint64_t bytes_held() const { return memory_.total_bytes(); }
  // The sticky error that ended this session's context, if one did.
  const std::string& lost() const { return lost_; }

 private:
  struct Function {
    CUfunction function = nullptr;
    std::uint64_t module = 0;
    std::size_t param_bytes = 0;  // the parameter buffer's size the kernel expects
  };
  // Runs one call; on failure returns the CUresult and sets `message`.
  CUresult execute(const cuda_calls::Call& call, std::vector<std::vector<std::uint8_t>>& outputs,
                   std::string& message);
  // A launch, with cuLaunchKernelEx's attributes when there are any.
  CUresult launch(const cuda_calls::Launch& c,
                  const std::vector<cuda_calls::LaunchAttribute>& attrs, std::string& message);
  // The guest's launch attributes as the driver takes them; false (and `message`) for one that is
  // not accepted. A priority is held to the VM's ceiling, as stream priorities are.
  bool to_driver_attributes(const std::vector<cuda_calls::LaunchAttribute>& in,
                            std::vector<CUlaunchAttribute>& out, std::string& message) const;
  // The stream for a guest handle (0: the context's default stream), or nullopt if not owned.
  std::optional<CUstream> stream(std::uint64_t handle);
  CUresult refuse(std::string& message, std::string why, CUresult code = CUDA_ERROR_INVALID_VALUE);
  // Empty when [ptr, ptr + bytes) lies inside one allocation or one module global of the
  // session, else why not.
  std::string check_range(std::uint64_t ptr, std::uint64_t bytes) const;
  // The host end of a copy through shared memory: its first byte, or nullptr and `message`.
  std::uint8_t* shared_range(std::uint64_t offset, std::uint64_t bytes, std::string& message);
  void release_everything();
  // A guest's matrix product: checked (sizes, types, every matrix in the session's memory),
  // then run by the host's cuBLAS on the session's stream.
  CUresult gemm(const cuda_calls::BlasGemm& g, std::string& message);
  // What every constructor does: the context made current, the VM's priority range taken.
  RemoteSession(CUcontext context, bool owns_context, int priority_level, std::uint64_t quota_bytes,
                SessionLimits limits);

  int least_priority_ = 0;
  int stream_priority_ceiling_ = 0;
  std::uint64_t quota_bytes_;
  std::uint64_t budget_ = 0;  // of the batch running now
  void take_priority_range(int priority_level);
  CUcontext context_ = nullptr;
  bool owns_context_ = true;
  OwnedMemory memory_;
  SessionBlas blas_;  // the session's cuBLAS handle, made at its first matrix product
  // Modules' global variables the program has looked up: copies may touch them, frees may not,
  // and they do not count against the quota (the module's load did).
  OwnedMemory globals_;
  std::map<std::uint64_t, std::vector<std::uint64_t>> module_globals_;  // module -> addresses
  HandleTable<CUmodule> modules_;
  HandleTable<Function> functions_;
  struct Stream {
    CUstream stream = nullptr;
    bool blocking = false;    // created without CU_STREAM_NON_BLOCKING
    CUevent order = nullptr;  // shared context only: for the default stream's ordering
  };
  HandleTable<Stream> streams_;
  // Shared context only: the session's own default stream, since the context's is everyone's.
  CUstream default_stream_ = nullptr;
  CUevent default_order_ = nullptr;
  HandleTable<CUevent> events_;
  std::shared_ptr<GuestMemory> shared_;
  std::string lost_;
  std::function<void()> released_;
};

// Whether an error leaves the CUDA context unusable (CUDA's "sticky" errors).
bool is_sticky(CUresult r);

}  // namespace vgpu::executors::cuda::remote
