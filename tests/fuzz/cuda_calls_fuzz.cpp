// Fuzz target: a remote CUDA batch (cuda.calls' input) and the two answers the guest driver
// decodes, all of it bytes the other side controls. Decoding must either succeed with every span
// inside the input, or throw CallError; a decoded batch re-encodes to the same bytes.
#include <algorithm>

#include "fuzz_input.hpp"
#include "vgpu/protocol/cuda_calls.hpp"

using namespace vgpu;
namespace cc = cuda_calls;

namespace {
bool inside(std::span<const std::uint8_t> part, std::span<const std::uint8_t> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::bytes(data, size);
  try {
    const auto calls = cc::decode_batch(input);
    cc::Writer again;
    for (const auto& call : calls) {
      std::visit(
          [&](const auto& c) {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, cc::MemcpyHtoD>) fuzz::require(inside(c.data, input));
            if constexpr (std::is_same_v<T, cc::ModuleLoad>) fuzz::require(inside(c.image, input));
            if constexpr (std::is_same_v<T, cc::Launch>)
              fuzz::require(inside(c.params, input) && c.params.size() <= cc::kMaxKernelParamBytes);
          },
          call);
      cc::encode(again, call);
    }
    fuzz::require(
        std::equal(again.bytes().begin(), again.bytes().end(), input.begin(), input.end()));
  } catch (const cc::CallError&) {
  }
  try {
    cc::decode_answer(input);
  } catch (const cc::CallError&) {
  }
  try {
    cc::decode_description(input);
  } catch (const cc::CallError&) {
  }
  // The same bytes as a batch's place in its session's order ("seq\nchained", either line
  // absent when empty) and as the features a guest names: a place is either refused with a
  // reason, or ordered from 1, or not ordered; a chained place is always numbered.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto newline = text.find('\n');
  const auto first = text.substr(0, newline);
  const auto second =
      newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  const auto place = cc::parse_batch_place(first.empty() ? std::nullopt : std::optional(first),
                                           second.empty() ? std::nullopt : std::optional(second));
  fuzz::require(place.error.empty() || (place.seq == 0 && !place.chained));
  fuzz::require(!place.chained || place.seq >= 1);
  if (place.error.empty() && !first.empty())
    fuzz::require(std::to_string(place.seq) == first || first.front() == '0');
  cc::lists_feature(text, cc::kFeatureOrdered);
  return 0;
}
