// The cuda executor against the cpu executor's results, op by op and size by size, on the real
// GPU. Without a GPU every test is skipped with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <future>

#include "cpu_ops.hpp"
#include "cuda_executor.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
namespace ops = sdk::ops;

namespace {

struct Gpu {
  std::unique_ptr<executors::cuda::CudaExecutor> executor;
  std::string why_not;
};

Gpu& gpu() {
  static Gpu g = [] {
    Gpu out;
    try {
      out.executor = std::make_unique<executors::cuda::CudaExecutor>(
          executors::cuda::CudaExecutorOptions{0, 4});
    } catch (const sdk::ExecutorUnavailable& e) {
      out.why_not = e.what();
    }
    return out;
  }();
  return g;
}

#define REQUIRE_GPU() \
  if (!gpu().executor) GTEST_SKIP() << "no GPU here (" << gpu().why_not << ")"

sdk::JobResult run_on_gpu(const sdk::Job& job) {
  auto promise = std::make_shared<std::promise<sdk::JobResult>>();
  auto answer = promise->get_future();
  gpu().executor->execute(std::make_shared<sdk::Job>(job),
                          [promise](sdk::JobResult r) { promise->set_value(std::move(r)); });
  return answer.get();
}

sdk::Job make_job(std::string op, std::vector<sdk::Param> params, int priority = 1) {
  sdk::Job j;
  j.op = std::move(op);
  j.params = std::move(params);
  j.tenant.priority = priority;
  return j;
}

void expect_close(const sdk::JobResult& gpu_result, const sdk::JobResult& cpu_result, double rel,
                  double abs) {
  ASSERT_EQ(gpu_result.status, sdk::Status::ok) << gpu_result.message;
  ASSERT_EQ(cpu_result.status, sdk::Status::ok) << cpu_result.message;
  ASSERT_EQ(gpu_result.outputs.size(), cpu_result.outputs.size());
  for (std::size_t b = 0; b < gpu_result.outputs.size(); ++b) {
    auto g = ops::to_floats(gpu_result.outputs[b]);
    auto c = ops::to_floats(cpu_result.outputs[b]);
    ASSERT_EQ(g.size(), c.size());
    std::size_t bad = 0;
    for (std::size_t i = 0; i < g.size(); ++i)
      if (std::abs(g[i] - c[i]) > abs + rel * std::abs(c[i]) && bad++ < 5)
        ADD_FAILURE() << "element " << i << ": gpu " << g[i] << " cpu " << c[i];
    EXPECT_EQ(bad, 0u);
  }
}

}  // namespace

class CudaMatchesCpu : public ::testing::TestWithParam<std::tuple<std::string, std::uint64_t>> {};

TEST_P(CudaMatchesCpu, SameResultsAsTheCpuExecutor) {
  REQUIRE_GPU();
  const auto& [op, n] = GetParam();
  auto job = make_job(op, {{"n", std::to_string(n)}, {"seed", "17"}, {"alpha", "1.5"}});
  const auto cpu = executors::run_cpu_op(job);
  const auto gpu_result = run_on_gpu(job);
  if (op == "reduce_sum")
    expect_close(gpu_result, cpu, 1e-5, 1e-3);  // double accumulation on both, other order
  else
    expect_close(gpu_result, cpu, 0, 0);  // elementwise: bit-identical
  EXPECT_GT(gpu_result.usage.device.count(), 0);
}

INSTANTIATE_TEST_SUITE_P(VectorOps, CudaMatchesCpu,
                         ::testing::Combine(::testing::Values("vector_add", "saxpy", "reduce_sum"),
                                            ::testing::Values(0, 1, 7, 1000, 65537, 1 << 22)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" +
                                  std::to_string(std::get<1>(info.param));
                         });

class CudaGemm : public ::testing::TestWithParam<std::tuple<std::string, int, int, int>> {};

TEST_P(CudaGemm, MatchesCpuWithinTolerance) {
  REQUIRE_GPU();
  const auto& [precision, m, n, k] = GetParam();
  auto job = make_job("gemm", {{"m", std::to_string(m)},
                               {"n", std::to_string(n)},
                               {"k", std::to_string(k)},
                               {"precision", precision}});
  // Both round inputs alike for bf16 and accumulate in fp32; only the summation order differs.
  // (cuBLAS's default math mode keeps fp32 gemm in fp32, no TF32.)
  expect_close(run_on_gpu(job), executors::run_cpu_op(job), 1e-3, 1e-3 * std::sqrt(k));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaGemm,
    ::testing::Values(std::make_tuple("fp32", 1, 1, 1), std::make_tuple("fp32", 5, 3, 7),
                      std::make_tuple("fp32", 0, 4, 4), std::make_tuple("fp32", 257, 129, 65),
                      std::make_tuple("bf16", 64, 64, 64), std::make_tuple("bf16", 255, 129, 33),
                      std::make_tuple("bf16", 512, 512, 512)),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + std::to_string(std::get<1>(info.param)) + "x" +
             std::to_string(std::get<2>(info.param)) + "x" +
             std::to_string(std::get<3>(info.param));
    });

TEST(CudaExecutor, ClientBuffersAreUsed) {
  REQUIRE_GPU();
  std::vector<float> a{1, 2, 3}, b{10, 20, 30};
  auto job = make_job("vector_add", {});
  job.inputs = {ops::to_buffer(a), ops::to_buffer(b)};
  auto r = run_on_gpu(job);
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_EQ(ops::to_floats(r.outputs[0]), (std::vector<float>{11, 22, 33}));
}

TEST(CudaExecutor, SpinHoldsTheGpuForTheTimeAsked) {
  REQUIRE_GPU();
  auto r = run_on_gpu(make_job("spin", {{"us", "20000"}}));
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_GE(r.usage.device, std::chrono::milliseconds(20));
  EXPECT_LT(r.usage.device, std::chrono::milliseconds(40));
}

TEST(CudaExecutor, BadInputGivesTheSameErrorsAsCpu) {
  REQUIRE_GPU();
  for (auto job : {make_job("fft", {}), make_job("vector_add", {{"n", "x"}}),
                   make_job("gemm", {{"n", "4"}, {"precision", "fp8"}})}) {
    auto g = run_on_gpu(job);
    auto c = executors::run_cpu_op(job);
    EXPECT_EQ(g.status, c.status) << job.op;
    EXPECT_EQ(g.message, c.message) << job.op;
  }
}

TEST(CudaExecutor, PrioritiesMapOntoTheDeviceRange) {
  REQUIRE_GPU();
  auto& ex = *gpu().executor;
  EXPECT_EQ(ex.stream_priority(0), 0);
  EXPECT_LT(ex.stream_priority(2), ex.stream_priority(1));
  EXPECT_LE(ex.stream_priority(1), ex.stream_priority(0));
  EXPECT_NE(ex.info().device.find("stream priorities"), std::string::npos);
}

TEST(CudaExecutor, NoGpuMeansUnavailableNotACrash) {
  if (gpu().executor) GTEST_SKIP() << "a GPU is present: the unavailable path cannot be shown here";
  EXPECT_NE(gpu().why_not.find("no CUDA device"), std::string::npos) << gpu().why_not;
}
