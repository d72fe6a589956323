// Each op against straightforward reference code written here, independently of cpu_ops.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "cpu_ops.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
namespace ops = sdk::ops;

namespace {

sdk::Job make_job(std::string op, std::vector<sdk::Param> params,
                  std::vector<sdk::Buffer> in = {}) {
  sdk::Job j;
  j.op = std::move(op);
  j.params = std::move(params);
  j.inputs = std::move(in);
  return j;
}

std::vector<float> output(const sdk::JobResult& r) {
  EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_EQ(r.outputs.size(), 1u);
  return r.outputs.empty() ? std::vector<float>{} : ops::to_floats(r.outputs[0]);
}

}  // namespace

class VectorOps : public ::testing::TestWithParam<std::size_t> {};

TEST_P(VectorOps, VectorAddMatchesReference) {
  const std::size_t n = GetParam();
  auto c = output(
      executors::run_cpu_op(make_job("vector_add", {{"n", std::to_string(n)}, {"seed", "3"}})));
  ASSERT_EQ(c.size(), n);
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_EQ(c[i], ops::generated_value(3, 0, i) + ops::generated_value(3, 1, i));
}

TEST_P(VectorOps, SaxpyMatchesReference) {
  const std::size_t n = GetParam();
  auto y = output(executors::run_cpu_op(
      make_job("saxpy", {{"n", std::to_string(n)}, {"alpha", "0.5"}, {"seed", "4"}})));
  ASSERT_EQ(y.size(), n);
  for (std::size_t i = 0; i < n; ++i)
    EXPECT_FLOAT_EQ(y[i], 0.5f * ops::generated_value(4, 0, i) + ops::generated_value(4, 1, i));
}

TEST_P(VectorOps, ReduceSumMatchesReference) {
  const std::size_t n = GetParam();
  auto s = output(executors::run_cpu_op(make_job("reduce_sum", {{"n", std::to_string(n)}})));
  double expect = 0;
  for (std::size_t i = 0; i < n; ++i) expect += ops::generated_value(1, 0, i);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NEAR(s[0], expect, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Sizes, VectorOps, ::testing::Values(0, 1, 7, 1000, 65537));

TEST(CpuOps, SentBuffersAreUsed) {
  std::vector<float> a{1, 2, 3}, b{10, 20, 30};
  auto c = output(
      executors::run_cpu_op(make_job("vector_add", {}, {ops::to_buffer(a), ops::to_buffer(b)})));
  EXPECT_EQ(c, (std::vector<float>{11, 22, 33}));
}

TEST(CpuOps, GemmMatchesNaiveReference) {
  const std::size_t m = 5, n = 3, k = 7;
  auto c = output(executors::run_cpu_op(
      make_job("gemm", {{"m", "5"}, {"n", "3"}, {"k", "7"}, {"seed", "11"}})));
  ASSERT_EQ(c.size(), m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double ref = 0;
      for (std::size_t p = 0; p < k; ++p)
        ref +=
            double(ops::generated_value(11, 0, i * k + p)) * ops::generated_value(11, 1, p * n + j);
      EXPECT_NEAR(c[i * n + j], ref, 1e-5);
    }
}

TEST(CpuOps, GemmBf16RoundsInputs) {
  std::vector<float> a{1.01f}, b{1.0f};
  auto c32 = output(executors::run_cpu_op(
      make_job("gemm", {{"n", "1"}}, {ops::to_buffer(a), ops::to_buffer(b)})));
  auto c16 = output(executors::run_cpu_op(make_job("gemm", {{"n", "1"}, {"precision", "bf16"}},
                                                   {ops::to_buffer(a), ops::to_buffer(b)})));
  EXPECT_FLOAT_EQ(c32[0], 1.01f);
  EXPECT_FLOAT_EQ(c16[0], ops::round_to_bf16(1.01f));
  auto bad = executors::run_cpu_op(make_job("gemm", {{"n", "1"}, {"precision", "fp8"}}));
  EXPECT_EQ(bad.status, sdk::Status::bad_request);
  EXPECT_NE(bad.message.find("fp8"), std::string::npos);
}

TEST(CpuOps, NoopAndSpin) {
  auto r = executors::run_cpu_op(make_job("noop", {}));
  EXPECT_EQ(r.status, sdk::Status::ok);
  EXPECT_TRUE(r.outputs.empty());
  const auto start = std::chrono::steady_clock::now();
  r = executors::run_cpu_op(make_job("spin", {{"us", "20000"}}));
  EXPECT_EQ(r.status, sdk::Status::ok);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
}

TEST(CpuOps, ErrorsNameTheProblem) {
  auto r = executors::run_cpu_op(make_job("fft", {}));
  EXPECT_EQ(r.status, sdk::Status::unknown_op);
  EXPECT_NE(r.message.find("fft"), std::string::npos);
  r = executors::run_cpu_op(make_job("spin", {{"us", "99999999999"}}));
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("'us'"), std::string::npos);
  r = executors::run_cpu_op(make_job("vector_add", {}, {sdk::Buffer(8)}));
  EXPECT_EQ(r.status, sdk::Status::bad_request);
}

// `work`: each lane's chain of fused multiply-adds from its generated start, then the lanes of a
// block added pairwise in the butterfly order a warp's xor-shuffle reduction uses.
TEST(WorkOp, EachBlockIsTheButterflySumOfItsLanesChains) {
  auto sums = output(
      executors::run_cpu_op(make_job("work", {{"iters", "37"}, {"blocks", "3"}, {"seed", "9"}})));
  ASSERT_EQ(sums.size(), 3u);
  for (std::uint64_t b = 0; b < 3; ++b) {
    std::vector<float> v(32);
    for (std::uint64_t l = 0; l < 32; ++l) {
      float x = ops::generated_value(9, 0, b * 32 + l);
      for (int i = 0; i < 37; ++i) x = std::fma(x, 0.9999f, 0.0001f);
      v[l] = x;
    }
    for (std::size_t half = 16; half > 0; half /= 2) {
      std::vector<float> next(32);
      for (std::size_t l = 0; l < 32; ++l) next[l] = v[l] + v[l ^ half];
      v = next;
    }
    EXPECT_EQ(sums[b], v[0]) << "block " << b;
  }
}

TEST(WorkOp, MoreIterationsGiveOtherValuesAndOutputZeroReturnsNothing) {
  auto few = output(executors::run_cpu_op(make_job("work", {{"iters", "1"}})));
  auto many = output(executors::run_cpu_op(make_job("work", {{"iters", "1000"}})));
  ASSERT_EQ(few.size(), 1u);
  ASSERT_EQ(many.size(), 1u);
  EXPECT_NE(few[0], many[0]);
  auto none = executors::run_cpu_op(make_job("work", {{"iters", "1000"}, {"output", "0"}}));
  EXPECT_EQ(none.status, sdk::Status::ok) << none.message;
  EXPECT_TRUE(none.outputs.empty());
  auto job = make_job("work", {{"blocks", "5"}});
  EXPECT_EQ(ops::output_bytes(job), 20u);
  job.params.push_back({"output", "0"});
  EXPECT_EQ(ops::output_bytes(job), 0u);
}

TEST(WorkOp, SizesPastTheBoundsAreRefusedNamingThem) {
  const auto refused = [](std::vector<sdk::Param> params) {
    auto r = executors::run_cpu_op(make_job("work", std::move(params)));
    EXPECT_EQ(r.status, sdk::Status::bad_request);
    return r.message;
  };
  EXPECT_NE(refused({{"iters", "16777217"}}).find("'iters'"), std::string::npos);
  EXPECT_NE(refused({{"blocks", "4194305"}}).find("'blocks'"), std::string::npos);
  EXPECT_NE(refused({{"iters", "16777216"}, {"blocks", "4096"}}).find("iters * blocks"),
            std::string::npos);
  EXPECT_NE(refused({{"output", "2"}}).find("'output'"), std::string::npos);
  EXPECT_NE(refused({{"iters", "-1"}}).find("non-negative"), std::string::npos);
}
