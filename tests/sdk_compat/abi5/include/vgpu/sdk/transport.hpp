// A transport carries requests from guests to the core and results back.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

// What the transport can prove about its peer. The core resolves the tenant from it.
struct PeerIdentity {
  std::string transport;                   // "tcp", "vsock", "file"
  std::uint32_t vm_id = 0;                 // claimed (tcp HELLO) or implied (file directory)
  std::string token;                       // tcp/vsock HELLO token; empty when none was sent
  std::optional<std::uint32_t> vsock_cid;  // set by vsock: cannot be forged by the guest
  bool directory_proven = false;           // file transport: the per-VM directory proves vm_id
  std::string peer_address;                // for logs
};

struct AuthOutcome {
  Status status = Status::ok;  // ok or unauthenticated
  std::string message;
  Tenant tenant;  // as the DB says, valid when status == ok
  std::string vm_name;
};

struct SubmitRequest {
  std::uint64_t client_tag = 0;
  std::string op;
  std::vector<Param> params;
  std::vector<Buffer> inputs;
  std::vector<OutputPlace> output_places;  // outputs into the client's shared memory, if asked
  std::optional<std::chrono::milliseconds> deadline;
};

// One client's way back. Implemented by the transport; deliver() may be called from any thread,
// after the connection is gone too (then it drops the result).
class ReplyChannel {
 public:
  virtual ~ReplyChannel() = default;
  virtual void deliver(std::uint64_t client_tag, JobResult result) = 0;
  // Called on the scheduler thread just before the job is handed to the executor; it returns
  // before the job can run. A transport that keeps requests on disk records it there, so that
  // after a crash it knows which requests never started (run them) and which may have (never
  // run them twice). Keep it short: the scheduler waits for it.
  virtual void started(std::uint64_t /*client_tag*/) {}
};

// Optional, for a ReplyChannel that can fall behind (a client that does not read its results).
// The core asks for it with dynamic_cast when the job is submitted; a channel that does not
// implement it is never held back. Adding it needs no change to the ReplyChannel interface, so
// transports built before it load and work as before.
class FlowControl {
 public:
  virtual ~FlowControl() = default;
  // Called by the core on the thread that dispatches jobs, before it starts a job of this
  // channel. True: the channel holds more unsent results than its transport allows, so the core
  // keeps the job queued (not failed, not reordered within the channel) and asks again a few
  // milliseconds later. Must be cheap and must not block.
  virtual bool backlogged() const = 0;
};

// Implemented by the core.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual AuthOutcome authenticate(const PeerIdentity& peer) = 0;
  // `vm_id` is the identity authenticate() accepted on this channel.
  virtual void submit(std::uint32_t vm_id, SubmitRequest request,
                      std::shared_ptr<ReplyChannel> channel) = 0;
  virtual void cancel(const ReplyChannel& channel, std::uint64_t client_tag) = 0;
  // The channel is closed: its queued jobs are cancelled, its running jobs' results dropped.
  virtual void disconnected(const ReplyChannel& channel) = 0;
  // The largest frame or payload the core accepts, for transports that frame requests.
  virtual std::size_t max_frame_bytes() const = 0;
  // The vm_ids the config DB holds now (for transports that prepare something per VM, such as
  // the file transport's directories).
  virtual std::vector<std::uint32_t> registered_vms() const = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void start(Sink& sink) = 0;
  // Stops accepting, flushes results already handed to it, closes every channel, joins threads.
  virtual void stop() = 0;
  // Where clients reach it, e.g. "tcp://127.0.0.1:7800" (the real port when 0 was configured).
  virtual std::vector<std::string> endpoints() const = 0;
};

}  // namespace vgpu::sdk
