// What the mediator and an executor's worker process (isolation: process) say to each other
// over their socketpair: length-prefixed messages, each a type byte and a payload.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/job.hpp"
#include "vgpu/sdk/telemetry.hpp"
#include "worker_rings.hpp"

namespace vgpu::core::isolation {

enum class MessageType : std::uint8_t {
  setup = 1,        // mediator → worker: WorkerSetup
  ready = 2,        // worker → mediator: ExecutorInfo
  unavailable = 3,  // worker → mediator: text (sdk::ExecutorUnavailable: try the next executor)
  failed = 4,       // worker → mediator: "config:", "load:" or "other:" and the text
  job = 5,          // mediator → worker: sdk::Job
  result = 6,       // worker → mediator: job id + sdk::JobResult
  lost = 7,         // worker → mediator: text (Executor::unusable()); the worker exits next
  shutdown = 8,     // mediator → worker: finish what you hold, then exit
  readings_request = 9,  // mediator → worker: send your executor's telemetry
  readings = 10,         // worker → mediator: sdk::Reading list (empty: no Telemetry role)
  // With shared-memory rings (worker_rings.hpp), on the socket only:
  nudge = 11,  // the ring you sleep on has a message
  // In a ring only: the next message comes on the socket (too large for the ring).
  on_socket = 12,
};

struct Message {
  MessageType type{};
  std::string payload;
};

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Everything the worker needs to build the same executor the mediator would: the config text
// itself (so settings errors carry the file's line and column) and which executor entry.
struct WorkerSetup {
  std::string config_text;
  std::string config_source;
  std::filesystem::path base_dir;
  std::uint32_t executor_index = 0;
  std::int32_t device = -1;  // the instance's device under `devices:`; -1 without
};

std::string encode(const WorkerSetup& setup);
WorkerSetup decode_setup(const std::string& payload);
std::string encode(const sdk::ExecutorInfo& info);
sdk::ExecutorInfo decode_info(const std::string& payload);
std::string encode(const sdk::Job& job);
sdk::JobPtr decode_job(const std::string& payload);
std::string encode(sdk::JobId id, const sdk::JobResult& result);
std::pair<sdk::JobId, sdk::JobResult> decode_result(const std::string& payload);
std::string encode(const std::vector<sdk::Reading>& readings);
std::vector<sdk::Reading> decode_readings(const std::string& payload);

// One end of the socketpair. send() may be called from several threads; receive() from one.
// A message goes out in one system call, header and payload together, and receive() reads
// whatever has arrived into a buffer: a small message costs one send and one read, and a
// reader never finds half a message and sleeps until the rest comes (docs/decisions.md, "The
// worker channel, one system call a message").
//
// With rings (use_rings): messages go through shared memory instead, each side polling its
// incoming ring, and the socket carries only nudges for a side that sleeps and messages too
// large for a ring, announced in the ring so that order is kept (docs/decisions.md, "Rings
// between the mediator and its worker").
class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // False when the other side is gone.
  bool send(MessageType type, const std::string& payload);
  // Nothing when the other side closed it; ProtocolError for a malformed message.
  std::optional<Message> receive();
  // receive() first watches the socket (or the incoming ring) this long before it sleeps in
  // read(): a message arriving meanwhile costs no wake-up. Zero (the default) sleeps at once.
  void set_poll(std::chrono::microseconds poll) { poll_ = poll; }
  // From now on both directions go through `rings`; the mediator's end and the worker's end
  // take opposite rings. Before the first message either way.
  void use_rings(std::shared_ptr<WorkerRings> rings, bool mediator_end);
  int fd() const { return fd_; }

  // System calls made so far that moved bytes on the socket (for tests: what a message costs).
  std::uint64_t sends() const { return sends_.load(std::memory_order_relaxed); }
  std::uint64_t reads() const { return reads_; }

 private:
  bool send_on_socket(MessageType type, const std::string& payload);
  std::optional<Message> receive_from_socket(bool poll);
  std::optional<Message> receive_from_rings();
  // Appends what the socket has to `in_`: at least one byte, or false at the end of the stream
  // (an error for a message already begun: `mid_message`).
  bool fill(bool mid_message, bool poll);
  // Reads straight into `to`, for the part of a large payload the buffer does not hold.
  void read_exactly(char* to, std::size_t n);

  int fd_;
  std::mutex send_mutex_;
  std::chrono::microseconds poll_{0};
  std::string in_;  // read, not yet handed out: [in_at_, in_end_)
  std::size_t in_at_ = 0, in_end_ = 0;
  std::atomic<std::uint64_t> sends_{0};
  std::uint64_t reads_ = 0;
  std::shared_ptr<WorkerRings> rings_;
  std::unique_ptr<RingOut> out_ring_;  // under send_mutex_
  std::unique_ptr<RingIn> in_ring_;
};

}  // namespace vgpu::core::isolation
