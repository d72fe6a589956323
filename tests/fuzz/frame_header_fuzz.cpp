// Fuzz target: the 24-byte frame header every stream connection reads first (wire.hpp,
// decode_header). Whatever it accepts must re-encode to the same bytes, and its sizes must
// respect the limit it was given.
#include "fuzz_input.hpp"
#include "vgpu/protocol/wire.hpp"

using namespace vgpu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < wire::kHeaderSize + 4) return 0;
  // The first four bytes choose the frame limit, the rest is the header.
  const std::uint32_t max_frame = std::uint32_t(data[0]) | std::uint32_t(data[1]) << 8 |
                                  std::uint32_t(data[2]) << 16 | std::uint32_t(data[3]) << 24;
  std::array<std::uint8_t, wire::kHeaderSize> header{};
  std::memcpy(header.data(), data + 4, header.size());
  try {
    const auto h = wire::decode_header(header, max_frame);
    fuzz::require(wire::kHeaderSize + std::uint64_t(h.meta_len) + h.data_len <= max_frame);
    fuzz::require(h.meta_len <= wire::kMaxMetaBytes);
    fuzz::require((h.flags & ~wire::kKnownFlags) == 0);
    fuzz::require(wire::encode_header(h) == header);
  } catch (const wire::WireError&) {
  }
  return 0;
}
