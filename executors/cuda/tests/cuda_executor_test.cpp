// The cuda executor against the cpu executor's results, op by op and size by size, on the real
// GPU. Without a GPU every test is skipped with the reason.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <thread>

#include "cpu_ops.hpp"
#include "cuda_executor.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
namespace ops = sdk::ops;

namespace {

executors::cuda::CudaExecutorOptions with_slots(unsigned slots) {
  executors::cuda::CudaExecutorOptions options;
  options.slots = slots;
  return options;
}

struct Gpu {
  std::unique_ptr<executors::cuda::CudaExecutor> executor;
  std::string why_not;
};

Gpu& gpu() {
  static Gpu g = [] {
    Gpu out;
    try {
      out.executor = std::make_unique<executors::cuda::CudaExecutor>(with_slots(4));
    } catch (const sdk::ExecutorUnavailable& e) {
      out.why_not = e.what();
    }
    return out;
  }();
  return g;
}

#define REQUIRE_GPU() \
  if (!gpu().executor) GTEST_SKIP() << "no GPU here (" << gpu().why_not << ")"

std::future<sdk::JobResult> submit(executors::cuda::CudaExecutor& executor, const sdk::Job& job) {
  auto promise = std::make_shared<std::promise<sdk::JobResult>>();
  auto answer = promise->get_future();
  executor.execute(std::make_shared<sdk::Job>(job),
                   [promise](sdk::JobResult r) { promise->set_value(std::move(r)); });
  return answer;
}

sdk::JobResult run_on_gpu(const sdk::Job& job) {
  return submit(*gpu().executor, job).get();
}

sdk::Job make_job(std::string op, std::vector<sdk::Param> params, int priority = 1,
                  std::string pool = "A") {
  sdk::Job j;
  j.op = std::move(op);
  j.params = std::move(params);
  j.tenant.priority = priority;
  j.tenant.pool = std::move(pool);
  return j;
}

std::unique_ptr<executors::cuda::CudaExecutor> make_executor(
    executors::cuda::CudaExecutorOptions options) {
  return std::make_unique<executors::cuda::CudaExecutor>(std::move(options));
}

std::unique_ptr<executors::cuda::CudaExecutor> make_partitioned(
    unsigned slots, executors::cuda::PartitionRequest partitions) {
  auto options = with_slots(slots);
  options.partitions = std::move(partitions);
  return make_executor(options);
}

double ms(std::chrono::nanoseconds d) {
  return std::chrono::duration<double, std::milli>(d).count();
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

// Three low-priority jobs whose blocks each hold a whole SM for 10 ms (exclusive=1) keep every
// slot busy; 5 ms in, a short high-priority job: the milliseconds it took.
double high_job_ms_under_low_spins(executors::cuda::CudaExecutor& ex) {
  std::vector<std::future<sdk::JobResult>> flood;
  for (int i = 0; i < 3; ++i)
    flood.push_back(
        submit(ex, make_job("spin", {{"us", "10000"}, {"blocks", "1024"}, {"exclusive", "1"}}, 0)));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto probe = submit(ex, make_job("spin", {{"us", "50"}, {"blocks", "8"}}, 2)).get();
  for (auto& f : flood) EXPECT_EQ(f.get().status, sdk::Status::ok);
  EXPECT_EQ(probe.status, sdk::Status::ok) << probe.message;
  return ms(probe.usage.wall);
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

// Jobs without outputs are timed on the host (no timing events), jobs with outputs by events
// that end before their copy back: either way the device time lies inside the executor's.
TEST(CudaExecutor, DeviceTimeOfJobsWithAndWithoutOutputsLiesInsideTheirRun) {
  REQUIRE_GPU();
  for (const auto& [op, params] : std::vector<std::pair<std::string, std::vector<sdk::Param>>>{
           {"spin", {{"us", "1000"}}},
           {"work", {{"iters", "20000"}, {"blocks", "132"}, {"output", "0"}}},
           {"work", {{"iters", "20000"}, {"blocks", "132"}}},
           {"vector_add", {{"n", "1048576"}}}}) {
    auto r = run_on_gpu(make_job(op, params));
    ASSERT_EQ(r.status, sdk::Status::ok) << op << ": " << r.message;
    EXPECT_GT(r.usage.device.count(), 0) << op;
    EXPECT_LE(r.usage.device, r.usage.wall) << op;
    if (op == "spin") {
      EXPECT_GE(r.usage.device, std::chrono::milliseconds(1));
    }
  }
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

TEST(CudaExecutor, MemoryQuotaRefusesTheJobAndNothingElse) {
  REQUIRE_GPU();
  auto big = make_job("vector_add", {{"n", std::to_string(1 << 20)}});  // 12 MiB on the device
  big.tenant.vm_id = 41;
  big.tenant.memory_quota_bytes = 8u << 20;
  auto refused = run_on_gpu(big);
  EXPECT_EQ(refused.status, sdk::Status::quota_exceeded);
  EXPECT_NE(refused.message.find("needs 12.0 MiB"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("vm_id 41"), std::string::npos) << refused.message;
  big.tenant.memory_quota_bytes = 16u << 20;
  EXPECT_EQ(run_on_gpu(big).status, sdk::Status::ok) << "within its quota it runs";
  EXPECT_EQ(gpu().executor->memory().in_use(41), 0u) << "the reservation ends with the job";
}

TEST(CudaExecutor, LargeClientBuffersPassThroughTheStagingBufferInChunks) {
  REQUIRE_GPU();
  auto options = with_slots(1);
  options.staging_bytes = 1 << 20;  // 1 MiB of staging for 12 MB of inputs
  auto ex = make_executor(options);
  std::vector<float> a(3'000'001), b(3'000'001);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = float(i % 1000), b[i] = float(i % 7);
  auto job = make_job("vector_add", {});
  job.inputs = {ops::to_buffer(a), ops::to_buffer(b)};
  auto r = submit(*ex, job).get();
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  expect_close(r, executors::run_cpu_op(job), 0, 0);
}

// A client's shared memory as the transport maps it: a MAP_SHARED mapping.
class MappedRegion final : public sdk::SharedRegion {
 public:
  explicit MappedRegion(std::size_t size)
      : size_(size),
        base_(static_cast<std::uint8_t*>(
            ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0))) {}
  ~MappedRegion() override { ::munmap(base_, size_); }
  std::uint8_t* base() const override { return base_; }
  std::size_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  std::size_t size_;
  std::uint8_t* base_;
  std::string name_ = "test region";
};

// The output lands in the client's shared memory, pinned for DMA or (pinning off) through a
// small staging buffer in chunks, with the bytes the CPU executor computes.
TEST(CudaExecutor, OutputsGoStraightIntoSharedMemoryPinnedOrNot) {
  REQUIRE_GPU();
  for (const bool pin : {true, false}) {
    SCOPED_TRACE(pin ? "pinned" : "through staging");
    auto options = with_slots(1);
    options.staging_bytes = 1 << 20;
    options.pin_shared_memory = pin;
    auto ex = make_executor(options);
    auto region = std::make_shared<MappedRegion>(32u << 20);
    const std::size_t n = 3'000'001, offset = 4096;
    auto job = make_job("vector_add", {{"n", std::to_string(n)}, {"seed", "8"}});
    job.output_places = {{region, offset, n * sizeof(float)}};
    auto r = submit(*ex, job).get();
    ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
    EXPECT_TRUE(r.outputs.empty());
    ASSERT_EQ(r.placed_sizes, (std::vector<std::uint64_t>{n * sizeof(float)}));
    const auto cpu = executors::run_cpu_op(job).outputs.at(0);
    EXPECT_EQ(std::memcmp(region->base() + offset, cpu.data(), cpu.size()), 0);
    EXPECT_EQ(ex->pinned_regions(), pin ? 1u : 0u);

    // Too small a place: the output comes back as a buffer, for the core to report the misfit.
    job.output_places[0].capacity = 16;
    auto misfit = submit(*ex, job).get();
    ASSERT_EQ(misfit.status, sdk::Status::ok) << misfit.message;
    EXPECT_TRUE(misfit.placed_sizes.empty());
    ASSERT_EQ(misfit.outputs.size(), 1u);
    EXPECT_EQ(misfit.outputs[0], cpu);
  }
}

// A pool limited to k SMs: `blocks` blocks that each fill an SM for `us` run in waves of k.
TEST(CudaPartitions, APoolRunsNoFasterThanItsSmsAllow) {
  REQUIRE_GPU();
  auto ex = make_partitioned(2, {0, {{"A", 16}}});
  EXPECT_NE(ex->partitions().find("pool A 16 SMs"), std::string::npos) << ex->partitions();
  const auto spin = [](std::string pool) {
    return make_job("spin", {{"us", "2000"}, {"blocks", "128"}, {"exclusive", "1"}}, 1, pool);
  };
  auto in_pool = submit(*ex, spin("A")).get();
  auto whole = run_on_gpu(spin("A"));
  ASSERT_EQ(in_pool.status, sdk::Status::ok) << in_pool.message;
  ASSERT_EQ(whole.status, sdk::Status::ok) << whole.message;
  // 128 blocks on 16 SMs: 8 waves of 2 ms. On the whole device (132 SMs): one wave.
  EXPECT_GE(ms(in_pool.usage.device), 8 * 2.0 * 0.95) << "pool A used more than its 16 SMs";
  EXPECT_LT(ms(whole.usage.device), 2 * 2.0) << "unpartitioned, all SMs run the blocks";
  std::printf("[ figures ] 128 SM-filling 2 ms blocks: pool of 16 SMs %.2f ms, whole GPU %.2f ms\n",
              ms(in_pool.usage.device), ms(whole.usage.device));
  auto unlisted = submit(*ex, spin("B")).get();
  EXPECT_EQ(unlisted.status, sdk::Status::ok) << "pool B runs in the shared rest";
  EXPECT_LT(ms(unlisted.usage.device), ms(in_pool.usage.device) / 2);
}

TEST(CudaPartitions, OversubscribedSharesAreRefusedWithTheSettingNamed) {
  REQUIRE_GPU();
  try {
    make_partitioned(1, {64, {{"A", 64}, {"B", 64}}});
    FAIL() << "192 SMs cannot fit on this GPU";
  } catch (const executors::cuda::PartitionError& e) {
    EXPECT_NE(std::string(e.what()).find("do not fit"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pool_sms."), std::string::npos) << e.what();
  }
}

// Low-priority jobs whose blocks each fill an SM for 10 ms keep every slot busy. A short
// high-priority job waits for a block to finish without a reserve (stream priority cannot
// preempt a running block); with high_reserved_sms it starts at once on its own SMs.
TEST(CudaPartitions, ReservedSmsLetHighPriorityJobsBypassALowFlood) {
  REQUIRE_GPU();
  auto plain = make_executor(with_slots(4));
  auto reserved = make_partitioned(4, {16, {}});
  const double without = high_job_ms_under_low_spins(*plain),
               with = high_job_ms_under_low_spins(*reserved);
  std::printf(
      "[ figures ] 50 us high job under a low flood: %.2f ms without reserve, %.2f ms with\n",
      without, with);
  EXPECT_GT(without, 2.0) << "the probe should have waited for a 10 ms block";
  EXPECT_LT(with, 2.0) << "the probe should have run on the reserved SMs at once";
}

// `work` gives the CPU executor's floats bit for bit, in one launch or in slices (a low job with
// slicing on), and its slices keep each lane's chain where the last one left it.
TEST(CudaWork, SameFloatsAsTheCpuWholeOrInSlices) {
  REQUIRE_GPU();
  auto options = with_slots(2);
  options.ops.low_slice = std::chrono::microseconds(10);
  auto sliced = make_executor(options);
  for (const int priority : {0, 2}) {
    SCOPED_TRACE(priority == 0 ? "low: sliced" : "high: one launch");
    auto job = make_job("work", {{"iters", "20000"}, {"blocks", "70"}, {"seed", "5"}}, priority);
    expect_close(submit(*sliced, job).get(), executors::run_cpu_op(job), 0, 0);
  }
  auto whole = make_job("work", {{"iters", "777"}, {"blocks", "3"}});
  expect_close(run_on_gpu(whole), executors::run_cpu_op(whole), 0, 0);
  auto silent = run_on_gpu(make_job("work", {{"iters", "777"}, {"output", "0"}}));
  EXPECT_EQ(silent.status, sdk::Status::ok) << silent.message;
  EXPECT_TRUE(silent.outputs.empty());
}

// Low spin jobs whose blocks each hold a whole SM for 10 ms (exclusive=1). Stream priority
// alone lets a short high job wait for a low block to end; with low_slice_us the low blocks run
// in slices of 100 us and the high job starts within one. (Blocks of plain arithmetic that share
// SMs let a high block in sooner by themselves: the GPU's peers measure that shape, not this test.)
TEST(CudaSlicing, SlicedLowJobsLetAHighJobInWithinASlice) {
  REQUIRE_GPU();
  auto options = with_slots(4);
  options.ops.low_slice = std::chrono::microseconds(100);
  auto sliced = make_executor(options);
  EXPECT_GT(sliced->work_ns_per_iter(), 0) << "slicing on: the work rate was measured at start";
  auto plain = make_executor(with_slots(4));
  const double without = high_job_ms_under_low_spins(*plain),
               with = high_job_ms_under_low_spins(*sliced);
  std::printf(
      "[ figures ] 50 us high job under low 10 ms SM-filling blocks: %.2f ms whole, "
      "%.2f ms in 100 us slices\n",
      without, with);
  EXPECT_GT(without, 2.0) << "the high job should have waited for a low block";
  EXPECT_LT(with, 1.0) << "the high job should have started within a slice or two";
}

TEST(CudaFaultInjection, IsOffUnlessConfigured) {
  REQUIRE_GPU();
  EXPECT_EQ(run_on_gpu(make_job("fault", {})).status, sdk::Status::unknown_op)
      << "without fault_injection the op does not exist";
}

// A sticky error poisons the device for the whole process. CUDA allows no recovery inside the
// process (cudaDeviceReset then reports the device busy or unavailable, as seen on the H100 with
// driver 580), so what the executor guarantees is: the faulting job fails with the CUDA error
// text, nothing hangs, every later job fails at once with a message that says what happened and
// what to do, and a rebuild is still tried once.
//
// The test runs in a child process of this test program (the same binary, only this test), so
// the poisoned context is the child's: every other test passes whether the binary runs them all
// or CTest runs them one by one.
constexpr const char* kFaultChildEnv = "VGPU_CUDA_FAULT_CHILD";

void sticky_error_in_this_process();

TEST(CudaZFaultRecovery, AStickyErrorFailsJobsWithClearErrorsAndNothingHangs) {
  if (std::getenv(kFaultChildEnv)) return sticky_error_in_this_process();
  REQUIRE_GPU();
  char self[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  const std::string command =
      std::string(kFaultChildEnv) + "=1 '" + self + "' --gtest_filter=CudaZFaultRecovery.* 2>&1";
  FILE* child = ::popen(command.c_str(), "r");
  ASSERT_NE(child, nullptr);
  std::string output;
  char buf[4096];
  while (std::size_t got = std::fread(buf, 1, sizeof buf, child)) output.append(buf, got);
  const int status = ::pclose(child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;
}

void sticky_error_in_this_process() {
  auto options = with_slots(2);
  options.ops.fault_injection = true;
  auto ex = make_executor(options);
  auto bystander = submit(*ex, make_job("spin", {{"us", "300000"}, {"blocks", "8"}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto fault = submit(*ex, make_job("fault", {})).get();
  EXPECT_EQ(fault.status, sdk::Status::execution_error);
  EXPECT_NE(fault.message.find("illegal"), std::string::npos) << fault.message;
  // A job on another stream either finished before the fault took the context down or fails
  // with the CUDA error; it never hangs and never reports a wrong result as ok.
  auto b = bystander.get();
  EXPECT_TRUE(b.status == sdk::Status::ok || b.status == sdk::Status::execution_error) << b.message;
  auto job = make_job("vector_add", {{"n", "100000"}, {"seed", "3"}});
  auto after = submit(*ex, job).get();
  if (ex->context_rebuilds() == 1) {
    expect_close(after, executors::run_cpu_op(job), 0, 0);  // a driver that allows recovery
  } else {
    EXPECT_EQ(after.status, sdk::Status::execution_error);
    EXPECT_NE(after.message.find("unusable"), std::string::npos) << after.message;
    EXPECT_NE(after.message.find("restart the mediator"), std::string::npos) << after.message;
  }
}
