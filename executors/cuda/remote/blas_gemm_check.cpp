#include "blas_gemm_check.hpp"

namespace vgpu::executors::cuda::remote {

namespace {
// cudaDataType numbers (library_types.h), kept here so this file needs no CUDA header.
constexpr std::uint32_t kR32F = 0, kR64F = 1, kR16F = 2, kR8I = 3, kR32I = 10, kR16BF = 14;
// cublasComputeType_t: 16F, 16F_PEDANTIC, 32F, 32F_PEDANTIC, 64F, 64F_PEDANTIC, 32I,
// 32I_PEDANTIC, 32F_FAST_16F, 32F_FAST_16BF, 32F_FAST_TF32 (cublas_api.h).
bool known_compute(std::uint32_t c) {
  return c == 64 || c == 65 || (c >= 68 && c <= 75) || c == 77;
}

bool mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return !__builtin_mul_overflow(a, b, &out);
}
bool add(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return !__builtin_add_overflow(a, b, &out);
}

// Bytes from the first element of a rows x cols column-major matrix (leading dimension ld) to
// the end of the last, over `batch` matrices `stride` elements apart; false on overflow.
bool span_bytes(std::uint64_t rows, std::uint64_t cols, std::uint64_t ld, std::uint64_t stride,
                std::uint64_t batch, std::uint64_t element, std::uint64_t& bytes) {
  if (rows == 0 || cols == 0) {
    bytes = 0;
    return true;
  }
  std::uint64_t last = 0, before_last_batch = 0, elements = 0;
  if (!mul(ld, cols - 1, last) || !add(last, rows, elements)) return false;
  if (!mul(stride, batch - 1, before_last_batch) || !add(elements, before_last_batch, elements))
    return false;
  return mul(elements, element, bytes);
}

// Bytes per element of a cudaDataType this path accepts (fp32, fp64, fp16, bf16, int8, int32),
// 0 for any other.
std::uint32_t element_bytes(std::uint32_t t) {
  switch (t) {
    case kR32F:
    case kR32I:
      return 4;
    case kR64F:
      return 8;
    case kR16F:
    case kR16BF:
      return 2;
    case kR8I:
      return 1;
    default:
      return 0;
  }
}
}  // namespace

GemmExtents gemm_extents(const cuda_calls::BlasGemm& g, std::string& why) {
  GemmExtents e;
  if (g.m < 0 || g.n < 0 || g.k < 0) return why = "negative matrix size", e;
  if (g.batch < 1) return why = "a batch of fewer than one matrix", e;
  if (g.trans_a > 2 || g.trans_b > 2) return why = "unknown transpose operation", e;
  const std::uint32_t ea = element_bytes(g.type_a), eb = element_bytes(g.type_b),
                      ec = element_bytes(g.type_c);
  if (!ea || !eb || !ec) return why = "a matrix type this path does not run", e;
  if (!known_compute(g.compute)) return why = "unknown compute type", e;
  if (g.algo < -1 || g.algo > 123) return why = "unknown algorithm", e;
  // Stored shapes: op(A) is m x k, so A is m x k when not transposed and k x m when it is.
  const std::uint64_t a_rows = g.trans_a == 0 ? g.m : g.k, a_cols = g.trans_a == 0 ? g.k : g.m;
  const std::uint64_t b_rows = g.trans_b == 0 ? g.k : g.n, b_cols = g.trans_b == 0 ? g.n : g.k;
  const auto ld_ok = [](std::int32_t ld, std::uint64_t rows) {
    return ld >= 1 && static_cast<std::uint64_t>(ld) >= rows;
  };
  if (!ld_ok(g.lda, a_rows)) return why = "lda smaller than A's rows", e;
  if (!ld_ok(g.ldb, b_rows)) return why = "ldb smaller than B's rows", e;
  if (!ld_ok(g.ldc, g.m)) return why = "ldc smaller than C's rows", e;
  if (g.stride_a < 0 || g.stride_b < 0 || g.stride_c < 0) return why = "negative stride", e;
  // Matrices of a batch may not overlap where they are written.
  if (g.batch > 1 && static_cast<std::uint64_t>(g.stride_c) <
                         static_cast<std::uint64_t>(g.ldc) * (g.n ? g.n - 1 : 0) + g.m)
    return why = "C's matrices overlap (stride_c too small)", e;
  if (!span_bytes(a_rows, a_cols, g.lda, g.stride_a, g.batch, ea, e.a_bytes) ||
      !span_bytes(b_rows, b_cols, g.ldb, g.stride_b, g.batch, eb, e.b_bytes) ||
      !span_bytes(g.m, g.n, g.ldc, g.stride_c, g.batch, ec, e.c_bytes))
    return why = "matrix extent overflows", e;
  return e;
}

}  // namespace vgpu::executors::cuda::remote
