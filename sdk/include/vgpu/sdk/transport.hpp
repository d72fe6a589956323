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

// What the transport can prove about its peer. The core resolves the tenant from it and knows
// nothing else of how the transport works: a new transport states its proof in these terms.
struct PeerIdentity {
  // How far the transport itself vouches for the peer, beyond the claim.
  enum class Proof : std::uint32_t {
    // Nothing: the claim (vm_id) must come with the VM's token.
    none = 0,
    // The transport proves vm_id by itself (the file transport: only that VM's directory is
    // reachable from inside that VM). No token is needed.
    vm_id = 1,
    // The peer's address was assigned by the hypervisor and cannot be forged from inside the
    // guest (a vsock CID). The core finds the VM registered with `bound_address`; a claimed
    // vm_id must agree with it. No token is needed.
    bound_address = 2,
  };

  std::string transport;    // "tcp", "vsock", "file": for logs
  std::uint32_t vm_id = 0;  // claimed (HELLO) or implied (file directory); 0 = none claimed
  std::string token;        // the HELLO's token; empty when none was sent
  Proof proof = Proof::none;
  // With Proof::bound_address: "<kind>:<value>", e.g. "vsock-cid:7". The kinds the config DB
  // records are listed in docs/plugins.md ("Identity").
  std::string bound_address;
  std::string peer_address;  // for logs
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

// One client's way back. Implemented by the transport.
class ReplyChannel {
 public:
  virtual ~ReplyChannel() = default;
  // deliver: the result of the job the client submitted with `client_tag`, exactly once per
  // accepted submit (a refusal is a result too). Called from any thread: the executor's that
  // finished the job, the scheduler's, or the transport's own inside Sink::submit(). Also after
  // the connection is gone: then it drops the result. Must not block for long: an executor
  // thread waits.
  virtual void deliver(std::uint64_t client_tag, JobResult result) = 0;
  // started: called by whoever holds the scheduler's turn just before the job is handed to the
  // executor; it returns before the job can run. A transport that keeps requests on disk records
  // it there, so that after a crash it knows which requests never started (run them) and which
  // may have (never run them twice). Keep it short: the scheduler waits for it.
  // Optional: the default does nothing.
  virtual void started(std::uint64_t /*client_tag*/) {}
};

// Optional, for a ReplyChannel that can fall behind (a client that does not read its results).
// The core asks for it with dynamic_cast when the job is submitted; a channel that does not
// implement it is never held back. Adding it needs no change to the ReplyChannel interface, so
// transports built before it load and work as before.
class FlowControl {
 public:
  virtual ~FlowControl() = default;
  // Called by whoever holds the scheduler's turn (see policy.hpp), before it starts a job of this
  // channel. True: the channel holds more unsent results than its transport allows, so the core
  // keeps the job queued (not failed, not reordered within the channel) and asks again a few
  // milliseconds later. Must be cheap and must not block.
  virtual bool backlogged() const = 0;
};

// Implemented by the core. Every method may be called from any of the transport's threads, at
// the same time.
class Sink {
 public:
  virtual ~Sink() = default;
  // authenticate: who the peer is. status ok with the tenant as the config DB says, or
  // unauthenticated with a message the transport may show the peer (it names no registered VM).
  virtual AuthOutcome authenticate(const PeerIdentity& peer) = 0;
  // submit: a request on a channel whose peer authenticate() accepted as `vm_id`. The result
  // always comes through channel->deliver(), possibly before submit returns (a refusal: queue
  // full, bad request, shutting down). May run the policy and start the job on this thread.
  virtual void submit(std::uint32_t vm_id, SubmitRequest request,
                      std::shared_ptr<ReplyChannel> channel) = 0;
  // cancel: withdraw a queued job; its result (cancelled) comes through deliver(). A job
  // already running finishes and answers normally.
  virtual void cancel(const ReplyChannel& channel, std::uint64_t client_tag) = 0;
  // disconnected: the channel is closed: its queued jobs are cancelled without answer, its
  // running jobs' results dropped. Call it once, before the channel is destroyed.
  virtual void disconnected(const ReplyChannel& channel) = 0;
  // The largest frame or payload the core accepts, for transports that frame requests.
  virtual std::size_t max_frame_bytes() const = 0;
  // The vm_ids the config DB holds now (for transports that prepare something per VM, such as
  // the file transport's directories).
  virtual std::vector<std::uint32_t> registered_vms() const = 0;
};

// Threads: start() and stop() are called once each by the core's main thread; between them the
// transport runs its own threads and calls the Sink from them. Layout changed in SDK 1.0
// (PeerIdentity), so transports of plugin ABI 5 are refused with a request to rebuild.
class Transport {
 public:
  virtual ~Transport() = default;
  // start: begin serving; returns once the endpoints accept. Throws for a fatal setup error
  // (an address in use): the mediator stops with the message. Required.
  virtual void start(Sink& sink) = 0;
  // stop: stop accepting, flush results already handed to it, close every channel, join its
  // threads. Called after the scheduler refused new work. Required.
  virtual void stop() = 0;
  // Where clients reach it, e.g. "tcp://127.0.0.1:7800" (the real port when 0 was configured).
  // Required.
  virtual std::vector<std::string> endpoints() const = 0;
};

}  // namespace vgpu::sdk
