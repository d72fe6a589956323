// Shared-memory rings between the mediator and an executor's worker process (isolation:
// process with isolation_poll_us): one ring each way in a memfd the mediator creates and hands
// to the worker. Each message is a 5-byte header (payload length, type) and its payload. The
// ring layout and the sleeping rule are the client rings' (vgpu/protocol/ring.hpp): a reader
// that stops polling sets its sleeping word, then looks once more; a writer publishes, then
// reads the word and, when it is set, nudges the reader on the socket.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "vgpu/protocol/ring.hpp"

namespace vgpu::core::isolation {

// Messages up to this size (header included) go through a ring; larger ones take the socket.
inline constexpr std::size_t kMaxRingMessage = 16 * 1024;
inline constexpr std::size_t kRingMessageHeader = 5;  // the payload's length (4 bytes), the type
inline constexpr std::size_t kMaxRingPayload = kMaxRingMessage - kRingMessageHeader;

class RingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The mapping of both rings. Owned by both ends' Channels (and nobody else).
class WorkerRings {
 public:
  // The mediator's side: a new memfd with both rings empty and their readers asleep.
  static std::shared_ptr<WorkerRings> create();
  // The worker's side: the rings in memfd `fd` (taken over: closed with the mapping).
  static std::shared_ptr<WorkerRings> attach(int fd);
  ~WorkerRings();
  WorkerRings(const WorkerRings&) = delete;
  WorkerRings& operator=(const WorkerRings&) = delete;

  int fd() const { return fd_; }
  wire::RingMemory to_worker() const { return wire::RingMemory(base_); }
  wire::RingMemory to_mediator() const { return wire::RingMemory(base_ + wire::kRingBytes); }

 private:
  WorkerRings(int fd, std::uint8_t* base) : fd_(fd), base_(base) {}
  int fd_;
  std::uint8_t* base_;
};

// The writing end of one ring.
class RingOut {
 public:
  explicit RingOut(wire::RingMemory ring) : ring_(ring) {}
  // Publishes the message when it fits now; false when the ring is too full (or its reader's
  // tail is impossible). `payload` may be up to kMaxRingPayload.
  bool try_push(std::uint8_t type, const std::string& payload);
  // After a push: whether the reader sleeps and must be nudged.
  bool reader_sleeps() const;

 private:
  wire::RingMemory ring_;
  std::uint64_t head_ = 0;
};

// The reading end of one ring. Nothing read from the shared memory is trusted: an impossible
// state is a RingError.
class RingIn {
 public:
  explicit RingIn(wire::RingMemory ring) : ring_(ring) {}
  bool empty() const;
  // The next message, when there is one.
  bool try_pop(std::uint8_t& type, std::string& payload);
  void set_sleeping(bool sleeping) const;

 private:
  wire::RingMemory ring_;
  std::uint64_t tail_ = 0;
};

}  // namespace vgpu::core::isolation
