// The remote CUDA sessions of one executor, by VM: `cuda.open` starts one (a vgpu-cuda-session
// process with a CUDA context of its own on the executor's device), `cuda.calls` runs a batch in
// it, `cuda.close` ends it. A session belongs to the VM that opened it; another VM naming its
// number gets "unknown session". Device memory is charged to the VM's quota here, across all
// its sessions. Idle sessions (a guest that died without closing) end after `idle_timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "batch_order.hpp"
#include "memory_ledger.hpp"
#include "session_process.hpp"
#include "vgpu/sdk/job.hpp"

namespace vgpu::executors::cuda::remote {

struct SessionsOptions {
  int device = 0;
  std::size_t max_sessions_per_vm = 16;
  std::chrono::seconds idle_timeout{600};
  std::uint64_t default_memory_quota_bytes = 0;
  std::string program;                // vgpu-cuda-session; empty: found by session_program()
  std::chrono::microseconds poll{0};  // the executor's busy_poll_us, for both ends of a session
  // Pools whose programs share one process and CUDA context (docs/remote-cuda.md, "Shared
  // pools"): priority across their VMs, but a fault in one program reaches them all.
  std::set<std::string> shared_pools;
  // SMs kept for a shared pool's high-priority VMs (the executor's high_reserved_sms): their
  // sessions get green contexts over them, the pool's other VMs' over the rest. 0: none.
  unsigned high_reserved_sms = 0;
  // Keep one isolated session process started and warm (driver loaded, context made) for the
  // next program that opens a session.
  bool spare_session = true;
  // The longest one batch may run; past it the session's process is killed (0: no limit).
  std::chrono::milliseconds batch_timeout{300'000};
};

class RemoteSessions {
 public:
  RemoteSessions(SessionsOptions options, MemoryLedger& ledger);
  ~RemoteSessions();

  static bool is_remote_op(std::string_view op);
  // Runs a cuda.* job; never throws (a failure is the job's result).
  sdk::JobResult run(const sdk::Job& job);
  std::size_t count() const;
  // Open sessions by VM, for the executor's readings.
  std::map<std::uint32_t, std::size_t> per_vm() const;

 private:
  struct Session {
    std::unique_ptr<SessionProcess> process;
    std::uint32_t vm = 0;
    std::uint64_t quota = 0;
    std::uint64_t held = 0;  // device memory charged to the VM for this session
    // The VM's shared memory the session process has mapped (from the first batch whose answer
    // was placed there), kept so that its file stays the one the process maps.
    std::shared_ptr<sdk::SharedRegion> shared_memory;
    std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();
    BatchOrder order;  // of the batches the guest keeps in flight two at a time
  };
  using Key = std::pair<std::uint32_t, std::uint64_t>;  // vm_id, session
  sdk::JobResult open(const sdk::Job& job);
  sdk::JobResult calls(const sdk::Job& job);
  sdk::JobResult close(const sdk::Job& job);
  // Hands the session process the job's shared memory, once: empty, or why it could not.
  std::string give_shared_memory(Session& session, const sdk::Job& job);
  std::shared_ptr<Session> find(const sdk::Job& job, std::string& why, std::uint64_t& id);
  // A started session for the job's VM: its own process, or one in its pool's shared process
  // (a fresh one when the pool's last was lost to a fault). Throws std::runtime_error.
  std::unique_ptr<SessionProcess> start(const sdk::Job& job, std::uint64_t quota,
                                        std::optional<Reply>& opened);
  void forget(const Key& key, Session& session);
  void end_idle_sessions();

  SessionsOptions options_;
  std::string program_;
  MemoryLedger& ledger_;
  mutable std::mutex mutex_;
  std::map<Key, std::shared_ptr<Session>> sessions_;
  std::map<std::string, std::shared_ptr<PoolProcess>> pools_;  // guarded by mutex_
  std::unique_ptr<SessionProcess> spare_;                      // guarded by mutex_
  // The spare, replaced by a fresh one; null when there is none (spare_session off, or the
  // program cannot start).
  std::unique_ptr<SessionProcess> take_spare();
  std::uint64_t next_session_ = 1;
};

}  // namespace vgpu::executors::cuda::remote
