// Helpers the fuzz targets share: a fuzzer's bytes as a span, and a way to say "this input was
// refused as it should be" (the parser's own error type) apart from a crash or a wrong answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace vgpu::fuzz {

inline std::span<const std::uint8_t> bytes(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

// A property that must hold for every input; a failure aborts so the fuzzer keeps the input.
inline void require(bool holds) {
  if (!holds) std::abort();
}

}  // namespace vgpu::fuzz
