// Frames through shared memory (docs/protocol.md, "Rings"): two single-producer,
// single-consumer byte rings at the end of a VM's shared-memory region, one for SUBMIT and
// CANCEL frames (client -> mediator), one for RESULTs (mediator -> client). Each side polls
// memory instead of a socket, so a frame costs two cache-line transfers instead of a trip
// through the kernel's network stack (on the H100 host a paced loopback TCP round trip took
// 90 us at p50, the same through one shared cache line 0.6 us).
//
// Each side keeps its own index privately and only publishes it: the peer may write anything
// into the shared memory, so nothing read from it is trusted. Offsets are taken modulo the
// capacity (a power of two) and a frame is copied out before it is decoded, so a peer can
// corrupt only its own frames, and an impossible state is a WireError naming it.
//
// Sleeping: a consumer that stops polling sets its `sleeping` word, then a full fence, then
// looks at the ring once more; a producer publishes, then a full fence, then reads `sleeping`
// and, when it is set, sends a NUDGE frame on the socket. Either the consumer sees the frame or
// the producer sees the word: no frame waits for a consumer that sleeps.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vgpu/protocol/wire.hpp"

namespace vgpu::wire {

inline constexpr std::size_t kRingDataBytes = 64 * 1024;  // a power of two
// head, tail and sleeping each on a cache line of their own: the two sides write different ones.
inline constexpr std::size_t kRingControlBytes = 3 * 64;
inline constexpr std::size_t kRingBytes = kRingControlBytes + kRingDataBytes;
inline constexpr std::size_t kRingsBytes = 2 * kRingBytes;  // the submit ring, then the result ring

// Where the rings lie in a region of `region_bytes`: its last kRingsBytes, 4 KiB aligned. None
// in a region under 1 MiB, where they would take too much of the space meant for data.
inline std::optional<std::uint64_t> rings_offset_for(std::uint64_t region_bytes) {
  if (region_bytes < (1u << 20)) return std::nullopt;
  return (region_bytes - kRingsBytes) & ~std::uint64_t(4095);
}

// Whether [offset, offset + size) touches the rings at `rings_offset`.
inline bool overlaps_rings(std::uint64_t offset, std::uint64_t size, std::uint64_t rings_offset) {
  // Written without offset + size, which a guest's numbers could wrap around.
  if (size == 0 || offset >= rings_offset + kRingsBytes) return false;
  return offset >= rings_offset || rings_offset - offset < size;
}

inline void full_fence() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

// One ring's control words and data, at `base` (kRingBytes, 64-byte aligned).
class RingMemory {
 public:
  explicit RingMemory(std::uint8_t* base) : base_(base) {}

  // Empty, with a sleeping consumer (nobody polls yet). Only before either side uses it.
  void reset() const {
    head().store(0, std::memory_order_relaxed);
    tail().store(0, std::memory_order_relaxed);
    sleeping().store(1, std::memory_order_relaxed);
    full_fence();
  }

  std::atomic_ref<std::uint64_t> head() const { return word<std::uint64_t>(0); }
  std::atomic_ref<std::uint64_t> tail() const { return word<std::uint64_t>(64); }
  std::atomic_ref<std::uint32_t> sleeping() const { return word<std::uint32_t>(128); }
  std::uint8_t* data() const { return base_ + kRingControlBytes; }

  // Copies between the ring's data, starting at index `at` (wrapping), and `bytes`.
  void read(std::uint64_t at, std::span<std::uint8_t> bytes) const {
    const std::size_t from = at & (kRingDataBytes - 1);
    const std::size_t first = std::min(bytes.size(), kRingDataBytes - from);
    std::memcpy(bytes.data(), data() + from, first);
    std::memcpy(bytes.data() + first, data(), bytes.size() - first);
  }
  void write(std::uint64_t at, std::span<const std::uint8_t> bytes) const {
    const std::size_t to = at & (kRingDataBytes - 1);
    const std::size_t first = std::min(bytes.size(), kRingDataBytes - to);
    std::memcpy(data() + to, bytes.data(), first);
    std::memcpy(data(), bytes.data() + first, bytes.size() - first);
  }

 private:
  template <typename T>
  std::atomic_ref<T> word(std::size_t offset) const {
    return std::atomic_ref<T>(*reinterpret_cast<T*>(base_ + offset));
  }
  std::uint8_t* base_;
};

// The producing side of a ring.
class RingWriter {
 public:
  explicit RingWriter(RingMemory ring) : ring_(ring) {}

  // Publishes `frame` (a whole frame without data section) when it fits now; false when the
  // ring is too full — or its consumer's tail is impossible — and the frame must take the socket.
  bool try_push(std::span<const std::uint8_t> frame) {
    if (frame.size() > kRingDataBytes) return false;
    const std::uint64_t used = head_ - ring_.tail().load(std::memory_order_acquire);
    if (used > kRingDataBytes || kRingDataBytes - used < frame.size()) return false;
    ring_.write(head_, frame);
    head_ += frame.size();
    ring_.head().store(head_, std::memory_order_release);
    return true;
  }

  // After a push: whether the consumer sleeps and must be nudged (the full fence first).
  bool consumer_sleeps() const {
    full_fence();
    return ring_.sleeping().load(std::memory_order_relaxed) != 0;
  }

 private:
  RingMemory ring_;
  std::uint64_t head_ = 0;
};

// The consuming side of a ring.
class RingReader {
 public:
  RingReader(RingMemory ring, std::string name) : ring_(ring), name_(std::move(name)) {}

  bool empty() const { return ring_.head().load(std::memory_order_acquire) == tail_; }

  // Copies the next frame out and frees its space. False when the ring is empty; throws
  // WireError, naming the ring, when what the producer published cannot be a frame.
  bool try_pop(std::vector<std::uint8_t>& frame, FrameHeader& header) {
    const std::uint64_t head = ring_.head().load(std::memory_order_acquire);
    const std::uint64_t published = head - tail_;
    if (published == 0) return false;
    if (published > kRingDataBytes || published < kHeaderSize)
      throw WireError(name_ + ": its head (" + std::to_string(head) + ") is " +
                      std::to_string(published) + " bytes past its tail (" + std::to_string(tail_) +
                      "), not a whole frame in " + std::to_string(kRingDataBytes) + " bytes");
    HeaderBytes bytes{};
    ring_.read(tail_, bytes);
    try {
      header = decode_header(bytes, kRingDataBytes);
    } catch (const WireError& e) {
      throw WireError(name_ + ": " + e.what());
    }
    if (header.data_len != 0)
      throw WireError(name_ + ": a frame in a ring has no data section (data_len " +
                      std::to_string(header.data_len) + ")");
    const std::size_t size = kHeaderSize + header.meta_len;
    if (size > published)
      throw WireError(name_ + ": a frame of " + std::to_string(size) + " bytes, but only " +
                      std::to_string(published) + " are published");
    frame.resize(size);
    ring_.read(tail_, frame);
    tail_ += size;
    ring_.tail().store(tail_, std::memory_order_release);
    return true;
  }

  // The consumer stops polling (true) or polls again (false); see the file comment.
  void set_sleeping(bool sleeping) const {
    ring_.sleeping().store(sleeping ? 1 : 0, std::memory_order_relaxed);
    if (sleeping) full_fence();
  }

 private:
  RingMemory ring_;
  std::string name_;
  std::uint64_t tail_ = 0;
};

// The two rings of a connection, at `rings` (the region's base + HELLO_OK's rings_offset).
inline RingMemory submit_ring(std::uint8_t* rings) {
  return RingMemory(rings);
}
inline RingMemory result_ring(std::uint8_t* rings) {
  return RingMemory(rings + kRingBytes);
}

}  // namespace vgpu::wire
