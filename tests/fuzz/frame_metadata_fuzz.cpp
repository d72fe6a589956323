// Fuzz target: the metadata of every frame type (HELLO, HELLO_OK, SUBMIT with and without the
// shared flag, RESULT, ERROR) and the buffer-size check of a SUBMIT's data section. The first
// byte picks the type, the next two the flags; what decodes must encode back to the same bytes.
#include "fuzz_input.hpp"
#include "vgpu/protocol/wire.hpp"

using namespace vgpu;

namespace {

template <typename Message>
std::vector<std::uint8_t> encoded(const Message& m) {
  std::vector<std::uint8_t> out;
  wire::encode(m, out);
  return out;
}

bool same(std::span<const std::uint8_t> a, const std::vector<std::uint8_t>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 7) return 0;
  const std::uint8_t type = data[0] % 5;
  const std::uint16_t flags = std::uint16_t(data[1] | data[2] << 8);
  const std::uint32_t data_len =
      std::uint32_t(data[3]) | std::uint32_t(data[4]) << 8 | std::uint32_t(data[5]) << 16;
  const auto meta = fuzz::bytes(data + 6, size - 6);
  try {
    switch (type) {
      case 0: {
        const auto m = wire::decode_hello(meta);
        fuzz::require(same(meta, encoded(m)));
        break;
      }
      case 1: {
        const auto m = wire::decode_hello_ok(meta, flags & wire::kKnownFlags);
        if (m.shared_bytes) fuzz::require(same(meta, encoded(m)));
        break;
      }
      case 2: {
        const auto m = wire::decode_submit(meta, flags & wire::kKnownFlags);
        fuzz::require(m.params.size() <= wire::kMaxParams);
        fuzz::require(m.buffer_sizes.size() <= wire::kMaxBuffers);
        // The check the session makes before it allocates anything for the data section.
        try {
          wire::check_buffer_sizes(m.buffer_sizes, data_len);
          std::uint64_t sum = 0;
          for (auto s : m.buffer_sizes) {
            fuzz::require(s <= data_len);
            sum += s;
          }
          fuzz::require(sum == data_len);
        } catch (const wire::WireError&) {
        }
        break;
      }
      case 3: {
        const auto m = wire::decode_result(meta);
        fuzz::require(same(meta, encoded(m)));
        break;
      }
      case 4: {
        const auto m = wire::decode_error(meta);
        fuzz::require(same(meta, encoded(m)));
        break;
      }
    }
  } catch (const wire::WireError&) {
  }
  return 0;
}
