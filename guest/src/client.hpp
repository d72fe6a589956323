// The guest's connection to the mediator over the framed protocol: HELLO, then pipelined
// SUBMITs whose RESULTs may come back in any order.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "vgpu/protocol/wire.hpp"

namespace vgpu::guest {

class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunResult {
  std::uint64_t tag = 0;
  protocol::Status status = protocol::Status::ok;
  std::string message;
  std::vector<protocol::Buffer> outputs;
  std::uint64_t queued_ns = 0;
  std::uint64_t wall_ns = 0;
  std::uint64_t device_ns = 0;
  std::uint64_t dispatch_sequence = 0;
  // A job submitted with submit_shared(): its outputs, in the shared memory where it asked for
  // them (valid while the Client lives; the next job there overwrites them). `outputs` is empty.
  std::vector<std::span<const std::uint8_t>> shared_outputs;
};

struct ConnectOptions {
  std::string client_name = "vgpu-client";
  // Asks the mediator for the VM's shared-memory region (docs/protocol.md, "Shared memory"),
  // so that large outputs skip the socket. Granted when the transport has shared_memory_dir.
  bool shared_memory = false;
  // Also asks for rings in that memory (docs/protocol.md, "Rings"): SUBMITs without inline data,
  // CANCELs and RESULTs without data then pass through shared memory, with no system call while
  // both sides poll (set_spin_wait here, busy_poll_us in the mediator). Implies shared_memory;
  // used once the memory is mapped. Granted to one connection of a VM at a time.
  bool rings = false;
  // When the connection is lost (the mediator restarted for an upgrade, the host's network
  // blinked), connect and say HELLO again by itself, waiting 50 ms, then twice as long after
  // each failure (at most 5 s), for up to reconnect_for in all. The jobs that were in flight are
  // answered execution_error with a message starting "interrupted:" (they may or may not have
  // run); new jobs go to the new connection. A refusal (ERROR) is never retried. Off: a lost
  // connection throws ClientError, as before.
  bool reconnect = false;
  std::chrono::milliseconds reconnect_for{60'000};
};

class Client {
 public:
  // Connects and authenticates; throws ClientError naming the cause (unreachable, refused).
  static Client connect(const std::string& host, std::uint16_t port, std::uint32_t vm_id,
                        const std::string& token, const std::string& client_name = "vgpu-client");
  // The same over vsock: `cid` 2 is the host. The mediator identifies the VM by its CID.
  static Client connect_vsock(std::uint32_t cid, std::uint32_t port, std::uint32_t vm_id,
                              const std::string& token,
                              const std::string& client_name = "vgpu-client");
  static Client connect(const std::string& host, std::uint16_t port, std::uint32_t vm_id,
                        const std::string& token, const ConnectOptions& options);
  static Client connect_vsock(std::uint32_t cid, std::uint32_t port, std::uint32_t vm_id,
                              const std::string& token, const ConnectOptions& options);
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // The identity the mediator resolved from its DB.
  const wire::HelloOk& identity() const;

  // Sends a job and returns its tag at once (pipelining).
  std::uint64_t submit(const std::string& op, const std::vector<protocol::Param>& params,
                       const std::vector<protocol::Buffer>& inputs = {},
                       std::uint32_t deadline_ms = 0);
  // The next result to arrive, whichever job it belongs to.
  RunResult next_result();
  // Job `tag`'s result, waiting for it (results of other jobs are kept for later).
  RunResult wait_for(std::uint64_t tag);
  // Whether job `tag`'s result has arrived, without waiting: reads what the mediator has sent
  // so far and keeps it. A lost connection throws as waiting would (or, with reconnect, answers
  // the job "interrupted").
  bool result_arrived(std::uint64_t tag);
  // Submits and waits for that job's result (results of other jobs are kept for later).
  RunResult run(const std::string& op, const std::vector<protocol::Param>& params,
                const std::vector<protocol::Buffer>& inputs = {});
  void cancel(std::uint64_t tag);

  // Maps the shared memory the mediator granted: `path` is what holds it here — in a guest the
  // vgpu-stub's shared-memory BAR (/sys/bus/pci/devices/<dev>/resource2), on the mediator's host
  // empty for the file HELLO_OK named. Returns the part for data (all but the rings). Throws
  // ClientError when none was granted or `path` is not the same size.
  std::span<std::uint8_t> map_shared_memory(const std::string& path = "");
  // Empty until mapped. With rings, they take the end of the region and are not part of it.
  std::span<std::uint8_t> shared_memory() const;
  // Whether frames go through the rings (granted, and the memory mapped).
  bool uses_rings() const;
  // Submits a job whose inputs are read from, and whose outputs are written to, ranges of the
  // shared memory (offset and size; for an output, the most it may take).
  std::uint64_t submit_shared(const std::string& op, const std::vector<protocol::Param>& params,
                              const std::vector<wire::Extent>& inputs,
                              const std::vector<wire::Extent>& outputs,
                              std::uint32_t deadline_ms = 0);
  RunResult run_shared(const std::string& op, const std::vector<protocol::Param>& params,
                       const std::vector<wire::Extent>& inputs,
                       const std::vector<wire::Extent>& outputs);
  // Waiting for a result, first watch the socket for up to `spin` before sleeping in the read,
  // as the CUDA runtime spins before it sleeps when a program waits for a kernel. A short job's
  // result then costs no wake-up of this thread (tens of microseconds, more in a VM) at the price
  // of a busy CPU while it waits. Zero (the default) sleeps at once.
  void set_spin_wait(std::chrono::microseconds spin);
  // Round trip of a PING frame.
  void ping();
  // Sends raw bytes (tests of malformed input).
  void send_raw(const std::vector<std::uint8_t>& bytes);
  // How many times the connection was re-established (ConnectOptions::reconnect).
  unsigned reconnects() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  static Client open(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vgpu::guest
