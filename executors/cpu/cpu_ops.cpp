#include "cpu_ops.hpp"

#include <thread>

#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors {
namespace ops = sdk::ops;
namespace {

sdk::JobResult with_output(std::vector<float> values) {
  sdk::JobResult r;
  r.outputs.push_back(ops::to_buffer(values));
  return r;
}

sdk::JobResult vector_add(const sdk::Job& job, const ops::Shape& s) {
  auto a = ops::input_floats(job, 0, s.n);
  const auto b = ops::input_floats(job, 1, s.n);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return with_output(std::move(a));
}

sdk::JobResult saxpy(const sdk::Job& job, const ops::Shape& s) {
  const float alpha = ops::param_float(job, "alpha", 2.0f);
  const auto x = ops::input_floats(job, 0, s.n);
  auto y = ops::input_floats(job, 1, s.n);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = alpha * x[i] + y[i];
  return with_output(std::move(y));
}

sdk::JobResult reduce_sum(const sdk::Job& job, const ops::Shape& s) {
  const auto x = ops::input_floats(job, 0, s.n);
  double sum = 0;  // double accumulation: the reference the GPU's tree reduction is held to
  for (float v : x) sum += v;
  return with_output({static_cast<float>(sum)});
}

sdk::JobResult gemm(const sdk::Job& job, const ops::Shape& s) {
  auto a = ops::input_floats(job, 0, s.m * s.k);
  auto b = ops::input_floats(job, 1, s.k * s.n);
  const auto precision = job.param("precision").value_or("fp32");
  if (precision == "bf16") {
    // Tensor cores take bf16 inputs and accumulate in fp32: do exactly that.
    for (auto& v : a) v = ops::round_to_bf16(v);
    for (auto& v : b) v = ops::round_to_bf16(v);
  } else if (precision != "fp32") {
    throw ops::OpError("gemm: precision must be fp32 or bf16, got '" + std::string(precision) +
                       "'");
  }
  std::vector<float> c(s.m * s.n, 0.0f);
  // i-k-j order keeps the inner loop streaming through rows of B and C. Pointers by data() +
  // offset: with n = 0, B and C are empty and b[0] would bind a reference to nothing (found by
  // the op_params fuzz target under UBSan).
  for (std::size_t i = 0; i < s.m; ++i)
    for (std::size_t kk = 0; kk < s.k; ++kk) {
      const float aik = a[i * s.k + kk];
      const float* brow = b.data() + kk * s.n;
      float* crow = c.data() + i * s.n;
      for (std::size_t j = 0; j < s.n; ++j) crow[j] += aik * brow[j];
    }
  return with_output(std::move(c));
}

sdk::JobResult spin(const sdk::Job& job) {
  const auto micros = ops::param_u64(job, "us", 1000, ops::kMaxSpinMicros);
  // Sleeping holds the worker (the slot) for the time asked without burning a host core.
  std::this_thread::sleep_for(std::chrono::microseconds(micros));
  return {};
}

// The same arithmetic as a GPU block per block, lane by lane (ops.hpp, `work`).
sdk::JobResult work(const sdk::Job& job) {
  const auto w = ops::work_shape(job);
  const std::uint64_t key = ops::generator_key(w.seed, 0);
  std::vector<float> sums(w.output ? w.blocks : 0);
  float lanes[ops::kWorkLanes];
  volatile float sink = 0;  // without an output the arithmetic must still happen
  for (std::uint64_t b = 0; b < w.blocks; ++b) {
    for (unsigned l = 0; l < ops::kWorkLanes; ++l)
      lanes[l] = ops::work_steps(ops::work_start(key, b * ops::kWorkLanes + l), w.iters);
    const float sum = ops::work_block_sum(lanes);
    if (w.output)
      sums[b] = sum;
    else
      sink = sum;
  }
  (void)sink;
  return w.output ? with_output(std::move(sums)) : sdk::JobResult{};
}

}  // namespace

sdk::JobResult run_cpu_op(const sdk::Job& job) {
  try {
    const auto shape = ops::shape_of(job);
    if (job.op == ops::kNoop) return {};
    if (job.op == ops::kVectorAdd) return vector_add(job, shape);
    if (job.op == ops::kSaxpy) return saxpy(job, shape);
    if (job.op == ops::kReduceSum) return reduce_sum(job, shape);
    if (job.op == ops::kGemm) return gemm(job, shape);
    if (job.op == ops::kSpin) return spin(job);
    if (job.op == ops::kWork) return work(job);
    return sdk::JobResult::failure(sdk::Status::unknown_op, "unknown op '" + job.op + "'");
  } catch (const ops::OpError& e) {
    return sdk::JobResult::failure(sdk::Status::bad_request, e.what());
  } catch (const std::bad_alloc&) {
    return sdk::JobResult::failure(sdk::Status::execution_error,
                                   job.op + ": out of host memory for this size");
  }
}

}  // namespace vgpu::executors
