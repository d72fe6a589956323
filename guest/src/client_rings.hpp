// The guest's side of a connection's rings (docs/protocol.md, "Rings"): SUBMIT and CANCEL
// frames into the submit ring, RESULTs out of the result ring. The client library uses them
// once the mediator granted them in HELLO_OK and the shared memory is mapped.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "vgpu/protocol/ring.hpp"

namespace vgpu::guest {

class ClientRings {
 public:
  // `rings`: the mapped region's base + HELLO_OK's rings_offset. The mediator emptied them.
  explicit ClientRings(std::uint8_t* rings)
      : submits_(wire::submit_ring(rings)),
        results_(wire::result_ring(rings), "the mediator's result ring") {}

  enum class Sent { no, yes, nudge };
  // A frame without data section into the submit ring: `nudge` when the mediator does not
  // watch the ring now and must be sent a NUDGE on the socket; `no` when it did not fit.
  Sent try_send(std::span<const std::uint8_t> frame) {
    if (!submits_.try_push(frame)) return Sent::no;
    return submits_.consumer_sleeps() ? Sent::nudge : Sent::yes;
  }

  // The next frame from the mediator in the result ring, if any (header, then metadata).
  // Throws wire::WireError when the ring holds something that cannot be a frame.
  bool try_receive(wire::FrameHeader& header, std::vector<std::uint8_t>& meta) {
    if (!results_.try_pop(buffer_, header)) return false;
    meta.assign(buffer_.begin() + wire::kHeaderSize, buffer_.end());
    return true;
  }

  // Whether this client is about to block on the socket (the mediator then nudges) or watches
  // the ring.
  void set_sleeping(bool sleeping) const { results_.set_sleeping(sleeping); }

 private:
  wire::RingWriter submits_;
  wire::RingReader results_;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace vgpu::guest
