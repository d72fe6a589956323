// Fuzz target: a submit ring whose memory the guest controls completely (head, tail word,
// data). The mediator's reader must take out only whole, valid frames, throw WireError for
// anything else, and never read outside the ring.
#include <memory>

#include "fuzz_input.hpp"
#include "vgpu/protocol/ring.hpp"

using namespace vgpu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 16) return 0;
  // A ring of exactly kRingBytes, filled from the input (repeated), its head from the input.
  static auto memory = std::make_unique<std::uint8_t[]>(wire::kRingBytes);
  for (std::size_t at = 0; at < wire::kRingBytes; at += size - 8)
    std::memcpy(&memory[at], data + 8, std::min(size - 8, wire::kRingBytes - at));
  wire::RingMemory ring(memory.get());
  std::uint64_t head = 0;
  std::memcpy(&head, data, sizeof head);
  ring.head().store(head);
  wire::RingReader reader(ring, "the fuzzed ring");
  std::vector<std::uint8_t> frame;
  wire::FrameHeader header;
  try {
    for (int i = 0; i < 64 && reader.try_pop(frame, header); ++i) {
      fuzz::require(frame.size() == wire::kHeaderSize + header.meta_len);
      fuzz::require(header.data_len == 0);
      fuzz::require(frame.size() <= wire::kRingDataBytes);
    }
  } catch (const wire::WireError&) {
  }
  return 0;
}
