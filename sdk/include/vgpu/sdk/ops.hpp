// The built-in ops every executor implements, and what they share so that all executors give the
// same answers and the same errors: parameter parsing, input shapes, and the seeded generator
// that makes inputs when the client sends none.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/protocol/op_names.hpp"
#include "vgpu/sdk/job.hpp"

// The input generator also runs in CUDA kernels, so the GPU makes bit-identical inputs.
#ifdef __CUDACC__
#define VGPU_HOST_DEVICE __host__ __device__
#else
#define VGPU_HOST_DEVICE
#endif

namespace vgpu::sdk::ops {

// The op names are the protocol's (vgpu/protocol/op_names.hpp); executors use them from here.
using protocol::kGemm;
using protocol::kNoop;
using protocol::kReduceSum;
using protocol::kSaxpy;
using protocol::kSpin;
using protocol::kVectorAdd;
using protocol::kWork;

inline const std::vector<std::string>& builtin_names() {
  return protocol::builtin_op_names();
}

// Thrown by op parsing: becomes a bad_request result naming what was wrong.
class OpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::uint64_t param_u64(const Job& job, std::string_view key, std::uint64_t fallback,
                               std::uint64_t max) {
  auto text = job.param(key);
  if (!text) return fallback;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size())
    throw OpError("parameter '" + std::string(key) + "' must be a non-negative integer, got '" +
                  std::string(*text) + "'");
  if (value > max)
    throw OpError("parameter '" + std::string(key) + "' = " + std::to_string(value) +
                  " exceeds the maximum " + std::to_string(max));
  return value;
}

inline float param_float(const Job& job, std::string_view key, float fallback) {
  auto text = job.param(key);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    float value = std::stof(std::string(*text), &used);
    if (used == text->size()) return value;
  } catch (const std::exception&) {
  }
  throw OpError("parameter '" + std::string(key) + "' must be a number, got '" +
                std::string(*text) + "'");
}

// Counter-based generator: element i of input stream s depends only on (seed, s, i), so a GPU
// thread can produce exactly what the CPU produces. Values are in [-1, 1). The 64-bit mixing of
// (seed, s) is done once per stream (generator_key); each element then costs one 32-bit hash
// (Wellons' lowbias32, a bijection), cheap enough on a GPU that generating a large gemm's inputs
// takes a small fraction of the multiply: 64-bit multiplies per element took a third of it.
VGPU_HOST_DEVICE inline std::uint64_t generator_key(std::uint64_t seed, std::uint32_t stream) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + (std::uint64_t(stream) << 40);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

VGPU_HOST_DEVICE inline float keyed_value(std::uint64_t key, std::uint64_t i) {
  std::uint32_t x = std::uint32_t(i) + std::uint32_t(key) + std::uint32_t(i >> 32) * 0x9E3779B9u;
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  x ^= std::uint32_t(key >> 32);  // streams with equal low key halves still differ
  return static_cast<float>(x >> 8) / static_cast<float>(1u << 23) - 1.0f;
}

VGPU_HOST_DEVICE inline float generated_value(std::uint64_t seed, std::uint32_t stream,
                                              std::uint64_t i) {
  return keyed_value(generator_key(seed, stream), i);
}

inline std::vector<float> generate(std::uint64_t seed, std::uint32_t stream, std::size_t n) {
  std::vector<float> v(n);
  const std::uint64_t key = generator_key(seed, stream);
  for (std::size_t i = 0; i < n; ++i) v[i] = keyed_value(key, i);
  return v;
}

inline Buffer to_buffer(const std::vector<float>& values) {
  Buffer b(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(b.data(), values.data(), b.size());
  return b;
}

inline std::vector<float> to_floats(const Buffer& b) {
  std::vector<float> v(b.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * sizeof(float));
  return v;
}

// The float32 inputs of an op: the client's buffers, or generated from n and seed.
struct Shape {
  std::uint64_t m = 0, n = 0, k = 0;  // gemm: (m x k) * (k x n); vectors: n elements
};

inline constexpr std::uint64_t kMaxElements = 1ull << 28;  // 1 GiB of float32 per buffer
inline constexpr std::uint64_t kMaxGemmDim = 16384;
inline constexpr std::uint64_t kMaxSpinMicros = 10'000'000;

// `work`: a fixed amount of arithmetic, for measuring delivered throughput (a `spin` that is held
// back finishes on the clock and so overstates what its owner got). `blocks` blocks of
// kWorkLanes lanes each run a dependent chain of `iters` fused multiply-adds from a generated
// start value; each block's result is the butterfly sum of its lanes' values, the order a GPU
// warp's xor-shuffle reduction adds them in, so every executor returns bit-identical floats.
// With output=0 nothing is returned (a load generator's flood needs no bytes back).
inline constexpr unsigned kWorkLanes = 32;
inline constexpr std::uint64_t kMaxWorkIters = 1ull << 24;
inline constexpr std::uint64_t kMaxWorkBlocks = 1ull << 22;
// iters * blocks at most: about 5 ms of a whole H100, seconds on one CPU core.
inline constexpr std::uint64_t kMaxWorkBlockIters = 1ull << 32;
inline constexpr float kWorkMul = 0.9999f, kWorkAdd = 0.0001f;

struct WorkShape {
  std::uint64_t iters = 0, blocks = 0, seed = 1;
  bool output = true;
};

inline WorkShape work_shape(const Job& job) {
  WorkShape w;
  w.iters = param_u64(job, "iters", 1000, kMaxWorkIters);
  w.blocks = param_u64(job, "blocks", 1, kMaxWorkBlocks);
  w.seed = param_u64(job, "seed", 1, UINT64_MAX);
  w.output = param_u64(job, "output", 1, 1) == 1;
  if (w.iters * w.blocks > kMaxWorkBlockIters)  // both bounded above: no overflow
    throw OpError("work: iters * blocks = " + std::to_string(w.iters * w.blocks) +
                  " exceeds the maximum " + std::to_string(kMaxWorkBlockIters));
  return w;
}

VGPU_HOST_DEVICE inline float work_start(std::uint64_t key, std::uint64_t lane) {
  return keyed_value(key, lane);
}

VGPU_HOST_DEVICE inline float work_steps(float x, std::uint64_t iters) {
  for (std::uint64_t i = 0; i < iters; ++i) x = fmaf(x, kWorkMul, kWorkAdd);
  return x;
}

// The butterfly sum of one block's lanes, as a warp's __shfl_xor_sync reduction computes it.
inline float work_block_sum(float (&lanes)[kWorkLanes]) {
  for (unsigned offset = kWorkLanes / 2; offset > 0; offset /= 2) {
    float next[kWorkLanes];
    for (unsigned i = 0; i < kWorkLanes; ++i) next[i] = lanes[i] + lanes[i ^ offset];
    std::memcpy(lanes, next, sizeof next);
  }
  return lanes[0];
}

inline std::size_t input_count(std::string_view op) {
  if (op == kVectorAdd || op == kSaxpy || op == kGemm) return 2;
  if (op == kReduceSum) return 1;
  return 0;
}

// Validates the job's inputs against its op and returns the shape. Throws OpError.
inline Shape shape_of(const Job& job) {
  Shape s;
  const std::size_t want = input_count(job.op);
  if (!job.inputs.empty() && job.inputs.size() != want)
    throw OpError(job.op + " takes " + std::to_string(want) + " input buffers, got " +
                  std::to_string(job.inputs.size()));
  for (const auto& in : job.inputs)
    if (in.size() % sizeof(float) != 0)
      throw OpError(job.op + ": input buffer size " + std::to_string(in.size()) +
                    " is not a multiple of 4 (float32)");
  if (job.op == kGemm) {
    s.n = param_u64(job, "n", 64, kMaxGemmDim);
    s.m = param_u64(job, "m", s.n, kMaxGemmDim);
    s.k = param_u64(job, "k", s.n, kMaxGemmDim);
    if (!job.inputs.empty() && (job.inputs[0].size() != s.m * s.k * sizeof(float) ||
                                job.inputs[1].size() != s.k * s.n * sizeof(float)))
      throw OpError("gemm: inputs must be m*k and k*n float32 values for m=" + std::to_string(s.m) +
                    " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k));
    return s;
  }
  if (want == 0) return s;
  if (job.inputs.empty()) {
    s.n = param_u64(job, "n", 1024, kMaxElements);
  } else {
    s.n = job.inputs[0].size() / sizeof(float);
    for (const auto& in : job.inputs)
      if (in.size() != job.inputs[0].size())
        throw OpError(job.op + ": input buffers must have the same size");
    // An `n` beside the buffers must agree with them: a disagreement is a client's bug, and
    // silently using one of the two would hide it.
    if (job.param("n") && param_u64(job, "n", 0, kMaxElements) != s.n)
      throw OpError(job.op + ": n=" + std::string(*job.param("n")) +
                    " but the input buffers hold " + std::to_string(s.n) + " float32 values each");
  }
  return s;
}

// The bytes of output the op will return for this job (all outputs together), known before it
// runs: the core refuses a job whose output cannot fit the client's frame limit. Throws OpError
// like shape_of. Zero for ops that return nothing, and for ops that are not built in.
inline std::uint64_t output_bytes(const Job& job) {
  if (job.op == kVectorAdd || job.op == kSaxpy) return shape_of(job).n * sizeof(float);
  if (job.op == kReduceSum) return sizeof(float);
  if (job.op == kGemm) {
    const Shape s = shape_of(job);
    return s.m * s.n * sizeof(float);  // at most 16384^2 * 4: no overflow
  }
  if (job.op == kWork) {
    const WorkShape w = work_shape(job);
    return w.output ? w.blocks * sizeof(float) : 0;
  }
  return 0;
}

// Input `index` of the job as floats: the client's, or generated (stream = index).
inline std::vector<float> input_floats(const Job& job, std::size_t index, std::size_t count) {
  if (!job.inputs.empty()) return to_floats(job.inputs[index]);
  return generate(param_u64(job, "seed", 1, UINT64_MAX), static_cast<std::uint32_t>(index), count);
}

// Rounds to bfloat16 (round to nearest even) and back, so a CPU can reproduce bf16 inputs.
inline float round_to_bf16(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits += 0x7FFF + ((bits >> 16) & 1);
  bits &= 0xFFFF0000u;
  std::memcpy(&x, &bits, sizeof bits);
  return x;
}

}  // namespace vgpu::sdk::ops
