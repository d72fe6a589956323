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
  return 0;
}
