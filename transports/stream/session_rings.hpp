// A connection's two rings, on the mediator's side (docs/protocol.md, "Rings"): it claims them
// in the VM's region at HELLO, reads SUBMIT and CANCEL frames from the submit ring, writes
// RESULTs into the result ring, and lets them go when the connection closes.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "shared_regions.hpp"
#include "vgpu/protocol/ring.hpp"

namespace vgpu::transports {

class SessionRings {
 public:
  // Claims the rings of `region` for this connection and empties them. Returns where they lie
  // (for HELLO_OK), or nullopt: the region has no room for rings, or another connection of the
  // VM holds them (this one then uses the socket alone).
  std::optional<std::uint64_t> open(std::shared_ptr<MappedRegion> region) {
    const auto offset = wire::rings_offset_for(region->size());
    if (!offset || !region->claim_rings()) return std::nullopt;
    std::uint8_t* rings = region->base() + *offset;
    wire::submit_ring(rings).reset();
    wire::result_ring(rings).reset();
    submits_.emplace(wire::submit_ring(rings), "the submit ring");
    results_.emplace(wire::result_ring(rings));
    region_ = std::move(region);
    offset_ = offset;
    active_ = true;
    return offset;
  }

  // Where the rings lie, once opened (data must not be placed there).
  std::optional<std::uint64_t> offset() const { return offset_; }

  // Calls on_frame(header, frame bytes) for each frame waiting in the submit ring; one caller at
  // a time. True when there was one. A ring that cannot be read (WireError) is closed, and the
  // error is passed on.
  template <typename OnFrame>
  bool drain(OnFrame&& on_frame) {
    std::lock_guard lock(read_mutex_);
    bool any = false;
    try {
      while (active_ && submits_->try_pop(frame_, header_)) {
        any = true;
        client_reads_results_ = true;
        on_frame(header_, std::span<const std::uint8_t>(frame_));
      }
    } catch (...) {
      active_ = false;
      throw;
    }
    return any;
  }

  bool submit_ring_empty() const { return !active_ || submits_->empty(); }

  void set_watched(bool watched) {
    if (active_) submits_->set_sleeping(!watched);
  }

  // A RESULT frame (without data section) into the result ring; the caller serialises calls
  // (the connection's send lock). nullopt: not taken, it goes by the socket; else whether the
  // client sleeps and must be sent a NUDGE. Only once the client has sent a frame through its
  // submit ring: a client that was granted rings but never mapped the memory cannot read them.
  std::optional<bool> try_push_result(std::span<const std::uint8_t> frame) {
    if (!active_ || !client_reads_results_ || !results_->try_push(frame)) return std::nullopt;
    return results_->consumer_sleeps();
  }

  // The connection is gone: the rings are free for the VM's next one.
  void close() {
    std::lock_guard lock(read_mutex_);
    if (!region_) return;
    active_ = false;
    region_->release_rings();
    region_.reset();
  }

 private:
  std::mutex read_mutex_;  // drain() and close()
  std::shared_ptr<MappedRegion> region_;
  std::optional<std::uint64_t> offset_;
  std::optional<wire::RingReader> submits_;
  std::optional<wire::RingWriter> results_;
  std::atomic<bool> active_{false};
  std::atomic<bool> client_reads_results_{false};  // it has used the submit ring
  std::vector<std::uint8_t> frame_;
  wire::FrameHeader header_;
};

}  // namespace vgpu::transports
