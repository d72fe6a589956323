// The guest driver's link to the mediator: one session (`cuda.open`), then batches of calls
// (`cuda.calls`). Calls that need no answer are recorded and go with the next one that does, so
// a launch or a copy to the device costs no round trip; an error in them surfaces at the next
// synchronizing call, as CUDA's own asynchronous errors do. docs/remote-cuda.md.
#pragma once

#include <cuda.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batch_timing.hpp"
#include "client.hpp"
#include "parallel_copy.hpp"
#include "staging.hpp"
#include "vgpu/protocol/cuda_calls.hpp"

namespace vgpu::guest::cuda {

class RemoteLink {
 public:
  // Connects as configured by the environment (VGPU_TRANSPORT, VGPU_HOST, VGPU_PORT, VGPU_CID,
  // VGPU_VM_ID and VGPU_TOKEN, else the vgpu-stub device's identity) and opens a session. On
  // failure returns the CUresult for cuInit and sets `error`.
  CUresult open(std::string& error);
  const cuda_calls::DeviceDescription& device() const { return device_; }
  bool is_open() const { return client_.has_value(); }

  // A call without an answer: recorded, sent with the next batch.
  CUresult record(const cuda_calls::Call& call);
  // A copy back that need not wait (cuMemcpyDtoHAsync): recorded like a launch; its bytes are
  // written to `destination` when the batch that carries it comes back, which is at the latest
  // the program's next synchronizing call (the only point where CUDA lets it read them).
  CUresult record_copy_back(const cuda_calls::MemcpyDtoH& call, void* destination);
  // A call with an answer: sends everything recorded and this call, waits, and puts this call's
  // output (if it has one) into `output`.
  CUresult call(const cuda_calls::Call& call, std::vector<std::uint8_t>* output = nullptr);
  // Sends what is recorded and waits for it to have been run (not for the GPU to finish).
  CUresult flush();
  // The largest copy one call may carry; bigger copies are split by the caller.
  std::size_t max_copy_bytes() const { return max_copy_; }
  void close();

  // Copies through the VM's shared memory (docs/remote-cuda.md, "Copies through shared
  // memory"), when the mediator granted it and this program holds a slot of it: the two halves
  // of the slot (one filled while the host copies the other; each the size of one chunk), and
  // the smallest copy worth them.
  bool has_staging() const { return staging_.has_value(); }
  std::span<std::uint8_t> staging_half(int half) const;
  std::uint64_t staging_offset(int half) const { return staging_->layout().half_offset[half]; }
  std::size_t staging_min_bytes() const { return staging_min_; }
  // Copies into and out of the slot, across VGPU_CUDA_COPY_THREADS threads (default 2).
  ParallelCopy& copier() const { return *copier_; }
  // Sends what is recorded and `call` without waiting for the answer; wait_sent() collects it.
  // Waits first for every batch in flight, so that the slot's halves are free in turn.
  CUresult send(const cuda_calls::Call& call);
  // Waits for every batch in flight; the first error among them (or one kept from earlier).
  CUresult wait_sent() { return wait_all(nullptr); }

 private:
  // Sends what is recorded with the call just added, and waits for it and every batch before it;
  // `outputs` gets the last batch's.
  CUresult send_batch(std::vector<std::vector<std::uint8_t>>* outputs);
  // Sends what is recorded when nothing is in flight (ordered only): the GPU starts on it while
  // the program records more.
  void send_early();
  CUresult send_pending();
  // Waits for the oldest batch in flight and takes its answer.
  CUresult collect_front(std::vector<std::vector<std::uint8_t>>* outputs);
  // Waits for every batch in flight; returns the first error kept (then drops what is recorded,
  // as a batch's calls after its failing one never run) or success.
  CUresult wait_all(std::vector<std::vector<std::uint8_t>>* outputs);
  // Keeps the first error of batches collected before the program's next waiting call.
  void note(CUresult r);
  // Maps the VM's shared memory and claims a slot of it; on any failure the program copies
  // through the socket, and VGPU_CUDA_LOG says why.
  void take_staging(const std::string& shared_memory_path, std::uint32_t vm_id);
  // Gives the session the VM's shared memory: an empty batch whose answer is placed there.
  bool give_shared_memory();

  std::optional<Client> client_;
  cuda_calls::DeviceDescription device_;
  std::string session_;
  cuda_calls::Writer pending_;
  std::size_t pending_calls_ = 0;
  // Where the recorded copies back go, in the order their outputs come back.
  struct Destination {
    void* data;
    std::size_t bytes;
  };
  std::vector<Destination> destinations_;
  std::uint64_t pending_answer_bytes_ = 0;
  // The batches sent and not yet answered, oldest first: one, or two when the host keeps a
  // session's batches in order (docs/remote-cuda.md, "Two batches in flight").
  struct InFlight {
    std::uint64_t tag = 0;
    std::size_t calls = 0;
    std::vector<Destination> destinations;
    bool placed = false;    // the batch and its answer are in the slot, not on the socket
    std::size_t place = 0;  // which of the slot's message places
    std::chrono::steady_clock::time_point sent_at;
  };
  std::optional<BatchTiming> timing_;  // VGPU_CUDA_TIMING set
  std::deque<InFlight> in_flight_;
  bool ordered_ = false;              // the host honours kFeatureOrdered
  std::uint64_t next_seq_ = 1;        // the next batch's number in the session's order
  CUresult deferred_ = CUDA_SUCCESS;  // an error collected before the program's next waiting call
  std::span<std::uint8_t> region_;    // the VM's shared memory as mapped here
  std::optional<StagingSlot> staging_;
  std::size_t staging_min_ = 256 << 10;
  std::size_t chunk_ = 8 << 20;  // the most of a half one copy call uses
  // Made with the slot and never destroyed: joining its helpers from a static destructor at
  // exit could wait on threads the exit has already stopped.
  ParallelCopy* copier_ = nullptr;
  std::size_t max_copy_ = 1 << 20;
  std::size_t max_batch_ = 1 << 20;
};

// Writes one line to stderr, prefixed "vgpu-cuda: " (always for errors; VGPU_CUDA_LOG=1 for
// the rest).
void log_error(const std::string& line);
void log_debug(const std::string& line);
// VGPU_CUDA_LOG=2: each driver function the program calls, by name, as it is called.
void trace_call(const char* function);
// Whether VGPU_CUDA_LOG is 2 (the call trace, and the fault report of fault_report.hpp).
bool tracing_calls();

}  // namespace vgpu::guest::cuda
