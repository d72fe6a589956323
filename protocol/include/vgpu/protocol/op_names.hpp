// The names of the built-in ops a guest may ask for, and the original protocol's command words
// for them. What each op computes is the executors' business (vgpu/sdk/ops.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vgpu::protocol {

inline constexpr std::string_view kNoop = "noop";
inline constexpr std::string_view kVectorAdd = "vector_add";
inline constexpr std::string_view kSaxpy = "saxpy";
inline constexpr std::string_view kReduceSum = "reduce_sum";
inline constexpr std::string_view kGemm = "gemm";
inline constexpr std::string_view kSpin = "spin";
inline constexpr std::string_view kWork = "work";

inline const std::vector<std::string>& builtin_op_names() {
  static const std::vector<std::string> names{
      std::string(kNoop), std::string(kVectorAdd), std::string(kSaxpy), std::string(kReduceSum),
      std::string(kGemm), std::string(kSpin),      std::string(kWork)};
  return names;
}

// The original protocol's command words (VECTOR_ADD, MATRIX_MUL, ...) mapped onto op names.
inline std::optional<std::string> from_legacy_command(std::string_view command) {
  std::string lower(command);
  for (auto& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const auto& name : builtin_op_names())
    if (name == lower) return name;
  if (lower == "matrix_mul" || lower == "matmul") return std::string(kGemm);
  return std::nullopt;
}

}  // namespace vgpu::protocol
