// Remote CUDA sessions (docs/remote-cuda.md) through the cuda executor's job path, on the real
// GPU, each in its own vgpu-cuda-session process (found beside this test in the build tree):
// every guest-sent handle and pointer is checked, memory counts against the VM's quota, a
// session belongs to its VM, and a fault ends only the session that caused it. Without a GPU
// every test is skipped with the reason.
#include <gtest/gtest.h>

#include <cuda.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <span>

#include "cuda_executor.hpp"
#include "vgpu/protocol/cuda_calls.hpp"

using namespace vgpu;
namespace cc = cuda_calls;

namespace {

// Two kernels in PTX (the driver compiles it for whatever GPU it runs on):
// add_one(int* p, int n) adds 1 to p[0..n); poke(int* p, long long i) writes p[i] = 1;
// smid(unsigned* p) writes the SM each block ran on to p[block];
// spin(unsigned long long ns) runs that long; and a global variable, counter.
constexpr char kPtx[] = R"(
.version 8.0
.target sm_80
.address_size 64

.visible .global .align 4 .u32 counter;

.visible .entry add_one(.param .u64 add_one_p, .param .u32 add_one_n)
{
  .reg .pred %p<2>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<5>;
  ld.param.u64 %rd1, [add_one_p];
  ld.param.u32 %r1, [add_one_n];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.s32 %p1, %r5, %r1;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd2, %rd1;
  mul.wide.s32 %rd3, %r5, 4;
  add.s64 %rd4, %rd2, %rd3;
  ld.global.u32 %r6, [%rd4];
  add.s32 %r7, %r6, 1;
  st.global.u32 [%rd4], %r7;
DONE:
  ret;
}

.visible .entry poke(.param .u64 poke_p, .param .u64 poke_offset)
{
  .reg .b32 %r<2>;
  .reg .b64 %rd<6>;
  ld.param.u64 %rd1, [poke_p];
  ld.param.u64 %rd2, [poke_offset];
  cvta.to.global.u64 %rd3, %rd1;
  shl.b64 %rd4, %rd2, 2;
  add.s64 %rd5, %rd3, %rd4;
  mov.u32 %r1, 1;
  st.global.u32 [%rd5], %r1;
  ret;
}
.visible .entry smid(.param .u64 smid_p)
{
  .reg .pred %p<2>;
  .reg .b32 %r<4>;
  .reg .b64 %rd<4>;
  mov.u32 %r3, %tid.x;
  setp.ne.u32 %p1, %r3, 0;
  @%p1 bra SMID_DONE;
  ld.param.u64 %rd1, [smid_p];
  cvta.to.global.u64 %rd2, %rd1;
  mov.u32 %r1, %ctaid.x;
  mov.u32 %r2, %smid;
  mul.wide.u32 %rd3, %r1, 4;
  add.s64 %rd2, %rd2, %rd3;
  st.global.u32 [%rd2], %r2;
SMID_DONE:
  ret;
}
.visible .entry spin(.param .u64 spin_ns)
{
  .reg .pred %p<2>;
  .reg .b64 %rd<5>;
  ld.param.u64 %rd1, [spin_ns];
  mov.u64 %rd2, %globaltimer;
SPIN:
  mov.u64 %rd3, %globaltimer;
  sub.s64 %rd4, %rd3, %rd2;
  setp.lt.u64 %p1, %rd4, %rd1;
  @%p1 bra SPIN;
  ret;
}
)";

struct Gpu {
  std::unique_ptr<executors::cuda::CudaExecutor> executor;
  std::string why_not;
};

Gpu& gpu() {
  static Gpu g = [] {
    Gpu out;
    try {
      executors::cuda::CudaExecutorOptions options;
      options.slots = 2;
      options.remote.max_sessions_per_vm = 3;
      options.remote.shared_pools = {"trusted"};
      // A shared pool's high VMs get SMs of their own (green contexts in the pool's process).
      options.partitions.high_reserved_sms = 16;
      options.remote.batch_timeout = std::chrono::milliseconds(2000);
      out.executor = std::make_unique<executors::cuda::CudaExecutor>(options);
    } catch (const sdk::ExecutorUnavailable& e) {
      out.why_not = e.what();
    }
    return out;
  }();
  return g;
}

#define REQUIRE_GPU() \
  if (!gpu().executor) GTEST_SKIP() << "no GPU here (" << gpu().why_not << ")"

// A VM's shared memory as a transport grants it: a real file, mapped.
class FileRegion final : public sdk::SharedRegion {
 public:
  explicit FileRegion(std::size_t bytes)
      : path_(std::filesystem::temp_directory_path() /
              ("vgpu-remote-test-vm-" + std::to_string(::getpid()))) {
    std::ofstream(path_).close();
    std::filesystem::resize_file(path_, bytes);
    const int fd = ::open(path_.c_str(), O_RDWR);
    base_ = static_cast<std::uint8_t*>(
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    ::close(fd);
    size_ = bytes;
    name_ = path_.string();
  }
  ~FileRegion() override {
    ::munmap(base_, size_);
    std::filesystem::remove(path_);
  }
  std::uint8_t* base() const override { return base_; }
  std::size_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  std::filesystem::path path_;
  std::uint8_t* base_ = nullptr;
  std::size_t size_ = 0;
  std::string name_;
};

// Hands `job` to the executor now; its result comes through the future.
std::future<sdk::JobResult> hand_over(std::shared_ptr<sdk::Job> job) {
  auto promise = std::make_shared<std::promise<sdk::JobResult>>();
  auto answer = promise->get_future();
  gpu().executor->execute(std::move(job),
                          [promise](sdk::JobResult r) { promise->set_value(std::move(r)); });
  return answer;
}

sdk::JobResult run(std::uint32_t vm, std::string_view op, std::uint64_t session = 0,
                   std::vector<std::uint8_t> batch = {}, std::uint64_t quota = 0,
                   const std::string& pool = "A",
                   std::shared_ptr<sdk::SharedRegion> answer_region = nullptr, int priority = 1) {
  auto job = std::make_shared<sdk::Job>();
  job->tenant.vm_id = vm;
  job->tenant.pool = pool;
  job->tenant.priority = priority;
  job->tenant.memory_quota_bytes = quota;
  job->op = std::string(op);
  if (session) job->params.push_back({std::string(cc::kSessionParam), std::to_string(session)});
  if (op == cc::kOpCalls) job->inputs.push_back(std::move(batch));
  // The answer placed at the region's start, as the guest library places it in its slot.
  if (answer_region) job->output_places.push_back({answer_region, 0, 1 << 20});
  return hand_over(std::move(job)).get();
}

// A session of one VM, with helpers that send one batch and decode its answer.
struct Session {
  std::uint32_t vm;
  std::uint64_t quota;
  std::string pool;
  int priority;
  cc::DeviceDescription device;

  explicit Session(std::uint32_t vm_id, std::uint64_t quota_bytes = 0, std::string pool_name = "A",
                   int priority_level = 1)
      : vm(vm_id), quota(quota_bytes), pool(std::move(pool_name)), priority(priority_level) {
    auto r = run(vm, cc::kOpOpen, 0, {}, quota, pool, nullptr, priority);
    EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
    if (r.status == sdk::Status::ok) device = cc::decode_description(r.outputs.at(0));
  }
  ~Session() {
    if (device.session) run(vm, cc::kOpClose, device.session, {}, quota, pool, nullptr, priority);
  }
  cc::BatchAnswer calls(const std::vector<cc::Call>& calls,
                        std::shared_ptr<sdk::SharedRegion> region = nullptr) {
    cc::Writer w;
    for (const auto& c : calls) cc::encode(w, c);
    auto r = run(vm, cc::kOpCalls, device.session, w.bytes(), quota, pool, region, priority);
    EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
    return r.status == sdk::Status::ok ? cc::decode_answer(r.outputs.at(0)) : cc::BatchAnswer{};
  }
  std::uint64_t alloc(std::uint64_t bytes) {
    auto a = calls({cc::MemAlloc{bytes}});
    EXPECT_EQ(a.result, 0) << a.message;
    return a.result ? 0 : u64(a.outputs.at(0));
  }
  static std::uint64_t u64(const std::vector<std::uint8_t>& b, std::size_t at = 0) {
    std::uint64_t v = 0;
    std::memcpy(&v, b.data() + at, 8);
    return v;
  }
  // Loads the test kernels; returns (module, add_one, poke).
  std::array<std::uint64_t, 3> kernels() {
    std::span<const std::uint8_t> image(reinterpret_cast<const std::uint8_t*>(kPtx), sizeof kPtx);
    auto m = calls({cc::ModuleLoad{image}});
    EXPECT_EQ(m.result, 0) << m.message;
    const auto module = u64(m.outputs.at(0));
    auto f = calls({cc::GetFunction{module, "add_one"}, cc::GetFunction{module, "poke"}});
    EXPECT_EQ(f.result, 0) << f.message;
    return {module, u64(f.outputs.at(0)), u64(f.outputs.at(1))};
  }
};

std::vector<std::uint8_t> params(std::uint64_t pointer, std::uint64_t value, std::size_t second) {
  std::vector<std::uint8_t> p(8 + second);
  std::memcpy(p.data(), &pointer, 8);
  std::memcpy(p.data() + 8, &value, second);
  return p;
}

// A launch of `function` in `blocks` blocks of `threads` threads; `params` must outlive it.
cc::Launch kernel_launch(std::uint64_t function, std::span<const std::uint8_t> params,
                         std::uint32_t blocks = 1, std::uint32_t threads = 1) {
  cc::Launch launch;
  launch.function = function;
  launch.grid[0] = blocks;
  launch.block[0] = threads;
  launch.params = params;
  return launch;
}

TEST(RemoteSession, OpenDescribesTheDevice) {
  REQUIRE_GPU();
  Session s(1);
  EXPECT_FALSE(s.device.name.empty());
  EXPECT_GT(s.device.session, 0u);
  EXPECT_GE(s.device.attributes.at(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), 7);
  EXPECT_GT(s.device.total_memory, 0u);
  EXPECT_LE(s.device.greatest_priority, s.device.least_priority);
  // The VM's level decides its streams' priorities, whether its session's process was started
  // for it or was the executor's warm spare (which learns the VM's terms at open).
  Session low(2, 0, "A", 0), high(3, 0, "A", 2);
  EXPECT_EQ(low.device.greatest_priority, low.device.least_priority);
  EXPECT_LT(high.device.greatest_priority, high.device.least_priority);
  Session quota(4, 64ull << 20);
  EXPECT_EQ(quota.device.total_memory, 64ull << 20);
}

// Two batches in flight (docs/remote-cuda.md): a batch of `session` with its place in the
// session's order, handed to the executor now; its answer comes through the future.
std::future<sdk::JobResult> ordered_batch(std::uint32_t vm, std::uint64_t session,
                                          const std::vector<cc::Call>& calls, std::uint64_t seq,
                                          bool chained) {
  cc::Writer w;
  for (const auto& c : calls) cc::encode(w, c);
  auto job = std::make_shared<sdk::Job>();
  job->tenant.vm_id = vm;
  job->tenant.pool = "A";
  job->tenant.priority = 1;
  job->op = std::string(cc::kOpCalls);
  job->params = {{std::string(cc::kSessionParam), std::to_string(session)},
                 {std::string(cc::kSeqParam), std::to_string(seq)}};
  if (chained) job->params.push_back({std::string(cc::kChainedParam), "1"});
  job->inputs.push_back(std::move(w.bytes()));
  return hand_over(std::move(job));
}

std::int32_t int_of(const std::vector<std::uint8_t>& bytes) {
  std::int32_t v = -1;
  if (bytes.size() == 4) std::memcpy(&v, bytes.data(), 4);
  return v;
}

TEST(RemoteSession, AHostAskedForOrderedBatchesSaysItHonoursThem) {
  REQUIRE_GPU();
  auto job = std::make_shared<sdk::Job>();
  job->tenant.vm_id = 1;
  job->tenant.pool = "A";
  job->op = std::string(cc::kOpOpen);
  job->params = {
      {std::string(cc::kFeaturesParam), "later-feature," + std::string(cc::kFeatureOrdered)}};
  auto r = hand_over(job).get();
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  ASSERT_EQ(r.outputs.size(), 2u) << "the description, then the features honoured";
  EXPECT_EQ(std::string(r.outputs[1].begin(), r.outputs[1].end()), cc::kFeatureOrdered);
  run(1, cc::kOpClose, cc::decode_description(r.outputs[0]).session);
  Session plain(1);  // a guest that does not ask gets the one output it expects (checked inside)
}

TEST(RemoteSession, ChainedBatchesRunInTheirOrderAndNotAfterAFailure) {
  REQUIRE_GPU();
  Session s(1);
  const auto [module, add_one, poke] = s.kernels();
  const auto ptr = s.alloc(4);
  auto p = params(ptr, 1, 4);
  const std::uint64_t session = s.device.session;
  // Batch 2 reaches a slot before batch 1: it waits, then adds one to what batch 1 wrote.
  auto second =
      ordered_batch(1, session, {kernel_launch(add_one, p), cc::MemcpyDtoH{ptr, 4, 0}}, 2, true);
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "batch 2 ran before batch 1 came";
  auto first = ordered_batch(1, session, {cc::Memset{ptr, 1, 0, 7, 4}}, 1, false);
  const auto one = first.get();
  ASSERT_EQ(one.status, sdk::Status::ok) << one.message;
  const auto two = second.get();
  ASSERT_EQ(two.status, sdk::Status::ok) << two.message;
  const auto answer = cc::decode_answer(two.outputs.at(0));
  ASSERT_EQ(answer.result, 0) << answer.message;
  EXPECT_EQ(int_of(answer.outputs.at(0)), 8);
  // Batch 3 fails (a function that is not the session's); batch 4, chained to it, runs nothing.
  const auto three = ordered_batch(1, session, {kernel_launch(12345, p)}, 3, false).get();
  ASSERT_EQ(three.status, sdk::Status::ok) << three.message;
  EXPECT_NE(cc::decode_answer(three.outputs.at(0)).result, 0);
  const auto four = ordered_batch(1, session, {cc::Memset{ptr, 1, 0, 100, 4}}, 4, true).get();
  EXPECT_EQ(four.status, sdk::Status::execution_error);
  EXPECT_NE(four.message.find("batch 4 not run: batch 3 of this session failed"), std::string::npos)
      << four.message;
  // Batch 5 was sent after the guest saw that: it runs, and finds batch 4's memset never ran.
  const auto five = ordered_batch(1, session, {cc::MemcpyDtoH{ptr, 4, 0}}, 5, false).get();
  ASSERT_EQ(five.status, sdk::Status::ok) << five.message;
  EXPECT_EQ(int_of(cc::decode_answer(five.outputs.at(0)).outputs.at(0)), 8);
  // A batch chained to one that never comes is not held for ever, and says why.
  const auto seven = ordered_batch(1, session, {cc::MemcpyDtoH{ptr, 4, 0}}, 7, true).get();
  EXPECT_EQ(seven.status, sdk::Status::execution_error);
  EXPECT_NE(seven.message.find("batch 6 did not reach the session first"), std::string::npos)
      << seven.message;
  // A malformed place is refused before anything runs.
  auto bad = std::make_shared<sdk::Job>();
  bad->tenant.vm_id = 1;
  bad->tenant.pool = "A";
  bad->op = std::string(cc::kOpCalls);
  bad->params = {{std::string(cc::kSessionParam), std::to_string(session)},
                 {std::string(cc::kChainedParam), "1"}};
  bad->inputs.push_back({});
  const auto r = hand_over(bad).get();
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("'chained' needs 'seq'"), std::string::npos) << r.message;
}

TEST(RemoteSession, CopiesAndAKernelComputeTheRightAnswer) {
  REQUIRE_GPU();
  Session s(1);
  const auto [module, add_one, poke] = s.kernels();
  const int n = 4096;
  std::vector<std::int32_t> host(n);
  for (int i = 0; i < n; ++i) host[i] = i * 3;
  const auto ptr = s.alloc(n * 4);
  auto p = params(ptr, n, 4);
  const auto launch = kernel_launch(add_one, p, n / 256, 256);
  auto a =
      s.calls({cc::MemcpyHtoD{ptr, 0, {reinterpret_cast<const std::uint8_t*>(host.data()), n * 4u}},
               launch, launch, cc::MemcpyDtoH{ptr, n * 4u, 0}});
  ASSERT_EQ(a.result, 0) << a.message;
  ASSERT_EQ(a.outputs.size(), 1u);
  ASSERT_EQ(a.outputs[0].size(), n * 4u);
  std::vector<std::int32_t> back(n);
  std::memcpy(back.data(), a.outputs[0].data(), n * 4);
  for (int i = 0; i < n; ++i) ASSERT_EQ(back[i], i * 3 + 2) << i;
}

// A guest's cuBLAS product runs on the host's cuBLAS, and only over the session's own memory.
TEST(RemoteSession, AMatrixProductRunsOnTheHostsCublasInsideTheSessionsMemory) {
  REQUIRE_GPU();
  Session s(1);
  const int n = 64;
  std::vector<float> a(n * n), b(n * n);
  for (int i = 0; i < n * n; ++i) {
    a[i] = float(i % 7 - 3);
    b[i] = float(i % 5 - 2);
  }
  const std::uint64_t bytes = n * n * 4;
  const auto da = s.alloc(bytes), db = s.alloc(bytes), dc = s.alloc(bytes);
  cc::BlasGemm g;
  g.a = da;
  g.b = db;
  g.c = dc;
  g.m = g.n = g.k = g.lda = g.ldb = g.ldc = n;
  g.compute = 68;  // CUBLAS_COMPUTE_32F on fp32 (type 0) matrices
  const float one = 1, zero = 0;
  std::memcpy(g.alpha, &one, 4);
  std::memcpy(g.beta, &zero, 4);
  auto r = s.calls({cc::MemcpyHtoD{da, 0, {reinterpret_cast<const std::uint8_t*>(a.data()), bytes}},
                    cc::MemcpyHtoD{db, 0, {reinterpret_cast<const std::uint8_t*>(b.data()), bytes}},
                    g, cc::MemcpyDtoH{dc, bytes, 0}});
  ASSERT_EQ(r.result, 0) << r.message;
  std::vector<float> c(n * n);
  std::memcpy(c.data(), r.outputs.at(0).data(), bytes);
  for (int col = 0; col < n; col += 13)
    for (int row = 0; row < n; row += 11) {
      float want = 0;
      for (int i = 0; i < n; ++i) want += a[i * n + row] * b[col * n + i];
      ASSERT_EQ(c[col * n + row], want) << row << "," << col;
    }
  // C one column longer than its allocation: refused before cuBLAS sees it.
  auto past = g;
  past.n = n + 1;
  past.k = past.ldb = n - 1;  // B ((n-1) x (n+1)) still fits
  r = s.calls({past});
  EXPECT_EQ(r.result, CUDA_ERROR_INVALID_VALUE);
  EXPECT_NE(r.message.find("blas_gemm: C: "), std::string::npos) << r.message;
  // A matrix of another allocation's size is fine; a pointer the session does not own is not.
  auto foreign = g;
  foreign.b = 4096;
  r = s.calls({foreign});
  EXPECT_EQ(r.result, CUDA_ERROR_INVALID_VALUE);
  EXPECT_NE(r.message.find("blas_gemm: B: "), std::string::npos) << r.message;
  auto wrong = g;
  wrong.lda = 3;
  r = s.calls({wrong});
  EXPECT_NE(r.message.find("lda smaller than A's rows"), std::string::npos) << r.message;
}

TEST(RemoteSession, PointersAndHandlesOutsideTheSessionAreRefused) {
  REQUIRE_GPU();
  Session s(1);
  const auto [module, add_one, poke] = s.kernels();
  const auto ptr = s.alloc(1024);
  auto a = s.calls({cc::MemcpyDtoH{ptr + 512, 1024, 0}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE);
  EXPECT_NE(a.message.find("not inside one allocation"), std::string::npos) << a.message;
  EXPECT_EQ(a.calls_run, 1u);
  a = s.calls({cc::Memset{ptr, 300, 0, 0, 4}});  // 1200 bytes into 1024
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE) << a.message;
  a = s.calls({cc::MemFree{ptr + 4}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE) << a.message;
  cc::Launch launch;
  launch.function = add_one + 1000;
  a = s.calls({launch});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_HANDLE) << a.message;
  auto short_params = params(ptr, 1, 2);  // add_one takes 12 bytes
  launch.function = add_one;
  launch.params = short_params;
  a = s.calls({launch});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE);
  EXPECT_NE(a.message.find("12 bytes"), std::string::npos) << a.message;
  a = s.calls({cc::StreamSync{77}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_HANDLE) << a.message;
  // The calls before a refused one ran; the ones after it did not.
  a = s.calls({cc::MemAlloc{64}, cc::EventSync{5}, cc::MemAlloc{64}});
  EXPECT_EQ(a.calls_run, 2u);
  EXPECT_EQ(a.outputs.size(), 1u);
}

TEST(RemoteSession, CopiesThroughSharedMemoryGoBetweenTheVmsRegionAndTheDevice) {
  REQUIRE_GPU();
  Session s(1);
  const auto [module, add_one, poke] = s.kernels();
  const int n = 1 << 20;  // 4 MiB
  const auto ptr = s.alloc(n * 4);
  // Before the session has the VM's memory, a shared copy has nothing to copy from.
  auto a = s.calls({cc::MemcpyHtoDShared{ptr, 0, 64, 0}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE);
  EXPECT_NE(a.message.find("given no shared memory"), std::string::npos) << a.message;

  auto region = std::make_shared<FileRegion>(std::size_t(16) << 20);
  auto* in = reinterpret_cast<std::int32_t*>(region->base() + (2 << 20));
  for (int i = 0; i < n; ++i) in[i] = i * 3;
  auto p = params(ptr, n, 4);
  const auto launch = kernel_launch(add_one, p, n / 256, 256);
  a = s.calls({cc::MemcpyHtoDShared{ptr, 2 << 20, n * 4u, 0}, launch,
               cc::MemcpyDtoHShared{ptr, 8 << 20, n * 4u, 0}},
              region);
  ASSERT_EQ(a.result, 0) << a.message;
  EXPECT_TRUE(a.outputs.empty()) << "the bytes are in the region, not in the answer";
  const auto* out = reinterpret_cast<const std::int32_t*>(region->base() + (8 << 20));
  for (int i = 0; i < n; ++i) ASSERT_EQ(out[i], i * 3 + 1) << i;
  // Later batches use the region the session was given, with or without a place for the answer.
  a = s.calls({launch, cc::MemcpyDtoHShared{ptr, 8 << 20, 64, 0}});
  ASSERT_EQ(a.result, 0) << a.message;
  EXPECT_EQ(out[15], 15 * 3 + 2);

  // Ranges past the region, wrapping sizes and ranges outside the session's memory are refused.
  a = s.calls({cc::MemcpyDtoHShared{ptr, region->size() - 8, 16, 0}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE);
  EXPECT_NE(a.message.find("outside the VM's region"), std::string::npos) << a.message;
  a = s.calls({cc::MemcpyHtoDShared{ptr, 16, UINT64_MAX, 0}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE) << a.message;
  a = s.calls({cc::MemcpyHtoDShared{ptr + 4, 0, n * 4u, 0}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE);
  EXPECT_NE(a.message.find("destination"), std::string::npos) << a.message;
  a = s.calls({cc::MemcpyDtoHShared{ptr, 0, 64, 99}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_HANDLE) << a.message;
}

TEST(RemoteSession, AKernelsSettingsReachTheDriver) {
  REQUIRE_GPU();
  Session s(1);
  const auto [module, add_one, poke] = s.kernels();
  const auto ptr = s.alloc(256 * 4);
  auto p = params(ptr, 256, 4);
  auto launch = kernel_launch(add_one, p, 1, 256);
  launch.shared_bytes = 64 << 10;  // past the 48 KiB a kernel gets unless it asks for more
  auto a = s.calls({launch, cc::CtxSync{}});
  EXPECT_NE(a.result, 0) << "64 KiB of dynamic shared memory without raising the limit";
  a = s.calls(
      {cc::FuncSetAttribute{add_one, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 64 << 10},
       launch, cc::CtxSync{}});
  EXPECT_EQ(a.result, 0) << a.message;
  a = s.calls({cc::FuncSetAttribute{add_one + 99, 8, 1}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_HANDLE) << a.message;
  a = s.calls({cc::FuncSetAttribute{add_one, 1000, 1}});
  EXPECT_EQ(a.result, CUDA_ERROR_INVALID_VALUE) << a.message;
}

TEST(RemoteSession, AModulesGlobalsCanBeCopiedButNotFreedOrOverrun) {
  REQUIRE_GPU();
  Session s(1);
  const auto [module, add_one, poke] = s.kernels();
  auto g = s.calls({cc::GetGlobal{module, "counter"}});
  ASSERT_EQ(g.result, 0) << g.message;
  const auto address = Session::u64(g.outputs.at(0)), bytes = Session::u64(g.outputs.at(0), 8);
  EXPECT_EQ(bytes, 4u);
  const std::uint8_t four[4] = {1, 2, 3, 4}, eight[8] = {};
  auto a = s.calls({cc::MemcpyHtoD{address, 0, four}, cc::MemcpyDtoH{address, 4, 0}});
  ASSERT_EQ(a.result, 0) << a.message;
  EXPECT_EQ(a.outputs.at(0), std::vector<std::uint8_t>(four, four + 4));
  EXPECT_EQ(s.calls({cc::MemcpyHtoD{address, 0, eight}}).result, CUDA_ERROR_INVALID_VALUE)
      << "eight bytes into a four-byte global";
  EXPECT_EQ(s.calls({cc::MemFree{address}}).result, CUDA_ERROR_INVALID_VALUE);
  EXPECT_EQ(s.calls({cc::GetGlobal{module, "no_such"}}).result, CUDA_ERROR_NOT_FOUND);
  ASSERT_EQ(s.calls({cc::ModuleUnload{module}}).result, 0);
  EXPECT_EQ(s.calls({cc::MemcpyDtoH{address, 4, 0}}).result, CUDA_ERROR_INVALID_VALUE)
      << "an unloaded module's globals are gone";
}

TEST(RemoteSession, ASessionBelongsToTheVmThatOpenedIt) {
  REQUIRE_GPU();
  Session s(1);
  cc::Writer w;
  cc::encode(w, cc::MemAlloc{64});
  auto r = run(2, cc::kOpCalls, s.device.session, w.bytes());
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("unknown session"), std::string::npos) << r.message;
  r = run(2, cc::kOpClose, s.device.session);
  EXPECT_EQ(r.status, sdk::Status::bad_request) << "another VM cannot end it either";
  EXPECT_EQ(s.calls({cc::MemAlloc{64}}).result, 0) << "the owner's session still works";
}

TEST(RemoteSession, AMalformedBatchIsABadRequestAndRunsNothing) {
  REQUIRE_GPU();
  Session s(1);
  cc::Writer w;
  cc::encode(w, cc::MemAlloc{64});
  w.u32(999);
  auto r = run(1, cc::kOpCalls, s.device.session, w.bytes());
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("unknown call code 999"), std::string::npos) << r.message;
  auto info = s.calls({cc::MemInfo{}});
  ASSERT_EQ(info.result, 0);
}

TEST(RemoteSession, DeviceMemoryCountsAgainstTheVmsQuota) {
  REQUIRE_GPU();
  const std::uint64_t quota = 64u << 20;
  Session s(3, quota);
  EXPECT_EQ(s.device.total_memory, quota) << "the VM sees its quota as the device's memory";
  const auto big = s.alloc(48u << 20);
  auto a = s.calls({cc::MemAlloc{32u << 20}});
  EXPECT_EQ(a.result, CUDA_ERROR_OUT_OF_MEMORY);
  EXPECT_NE(a.message.find("quota"), std::string::npos) << a.message;
  {
    Session other(3, quota);  // the quota is the VM's, across its sessions
    auto b = other.calls({cc::MemAlloc{32u << 20}});
    EXPECT_EQ(b.result, CUDA_ERROR_OUT_OF_MEMORY) << b.message;
  }
  auto info = s.calls({cc::MemInfo{}});
  ASSERT_EQ(info.result, 0);
  EXPECT_EQ(Session::u64(info.outputs[0], 8), quota);
  EXPECT_EQ(Session::u64(info.outputs[0], 0), 16u << 20) << "free: what is left of the quota";
  ASSERT_EQ(s.calls({cc::MemFree{big}}).result, 0);
  EXPECT_EQ(s.calls({cc::MemAlloc{32u << 20}}).result, 0) << "freed memory is the VM's again";
}

double sessions_reading(std::uint32_t vm) {
  for (const auto& r : gpu().executor->readings())
    if (r.name == "remote_cuda_sessions" && r.labels.at(0).second == std::to_string(vm))
      return r.value;
  return 0;
}

TEST(RemoteSession, ClosingASessionGivesItsMemoryBack) {
  REQUIRE_GPU();
  {
    Session s(4, 64u << 20);
    s.alloc(60u << 20);
    EXPECT_EQ(gpu().executor->memory().in_use(4), 60u << 20);
    EXPECT_EQ(sessions_reading(4), 1.0) << "the executor's readings show the session";
  }
  EXPECT_EQ(gpu().executor->memory().in_use(4), 0u);
  EXPECT_EQ(sessions_reading(4), 0.0);
}

TEST(RemoteSession, AVmHoldsAtMostItsLimitOfSessions) {
  REQUIRE_GPU();
  Session a(5), b(5), c(5);
  auto r = run(5, cc::kOpOpen);
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("limit of 3"), std::string::npos) << r.message;
  Session other_vm(6);
  EXPECT_GT(other_vm.device.session, 0u) << "another VM is not held back";
}

TEST(RemoteSession, AFaultEndsOnlyTheSessionThatCausedIt) {
  REQUIRE_GPU();
  Session bad(7), good(8);
  const auto [module, add_one, poke] = bad.kernels();
  const auto ptr = bad.alloc(1024);
  auto p = params(ptr, 1ull << 36, 8);  // far outside the allocation
  cc::Launch launch;
  launch.function = poke;
  launch.params = p;
  auto a = bad.calls({launch, cc::CtxSync{}});
  EXPECT_TRUE(a.result == CUDA_ERROR_ILLEGAL_ADDRESS || a.result == CUDA_ERROR_LAUNCH_FAILED)
      << a.result << " " << a.message;
  auto later = bad.calls({cc::MemAlloc{64}});
  EXPECT_NE(later.result, 0);
  EXPECT_NE(later.message.find("lost earlier"), std::string::npos) << later.message;
  // The other VM's session and the executor's own jobs go on.
  const auto mine = good.alloc(4096);
  std::vector<std::uint8_t> bytes(4096, 7);
  auto g = good.calls({cc::MemcpyHtoD{mine, 0, bytes}, cc::MemcpyDtoH{mine, 4096, 0}});
  ASSERT_EQ(g.result, 0) << g.message;
  EXPECT_EQ(g.outputs.at(0), bytes);
  sdk::Job job;
  job.op = "vector_add";
  job.params = {{"n", "1000"}, {"seed", "3"}};
  EXPECT_EQ(hand_over(std::make_shared<sdk::Job>(job)).get().status, sdk::Status::ok);
  EXPECT_FALSE(gpu().executor->unusable()) << "the executor's own context is not lost";
}

TEST(RemoteSession, ASharedPoolsProgramsRunInOneContextAndShareAFault) {
  REQUIRE_GPU();
  Session a(20, 0, "trusted"), b(21, 0, "trusted"), elsewhere(22);
  const auto [module, add_one, poke] = a.kernels();
  // Both work, side by side.
  for (auto* s : {&a, &b}) {
    const auto p = s->alloc(4096);
    std::vector<std::uint8_t> bytes(4096, 9);
    auto g = s->calls({cc::MemcpyHtoD{p, 0, bytes}, cc::MemcpyDtoH{p, 4096, 0}});
    ASSERT_EQ(g.result, 0) << g.message;
    EXPECT_EQ(g.outputs.at(0), bytes);
  }
  // A fault in one program of the pool reaches the pool's other program: they share a context.
  const auto ptr = a.alloc(1024);
  auto p = params(ptr, 1ull << 36, 8);
  cc::Launch launch;
  launch.function = poke;
  launch.params = p;
  auto fault = a.calls({launch, cc::CtxSync{}});
  EXPECT_TRUE(fault.result == CUDA_ERROR_ILLEGAL_ADDRESS ||
              fault.result == CUDA_ERROR_LAUNCH_FAILED)
      << fault.result << " " << fault.message;
  auto neighbour = b.calls({cc::MemAlloc{64}, cc::CtxSync{}});
  EXPECT_NE(neighbour.result, 0) << "the pool's other program sees the fault";
  // A VM outside the pool does not; and a new program of the pool gets a fresh process.
  EXPECT_NE(elsewhere.alloc(4096), 0u);
  Session fresh(23, 0, "trusted");
  ASSERT_GT(fresh.device.session, 0u);
  EXPECT_NE(fresh.alloc(4096), 0u) << "a new session of the pool works after the fault";
}

// The SMs a session's kernel ran on: `blocks` blocks of 1024 threads, each noting its SM.
std::set<std::uint32_t> sms_used(Session& s, std::uint32_t blocks = 1056) {
  const auto [module, add_one, poke] = s.kernels();
  auto f = s.calls({cc::GetFunction{module, "smid"}});
  EXPECT_EQ(f.result, 0) << f.message;
  const auto ptr = s.alloc(blocks * 4);
  std::vector<std::uint8_t> p(8);
  std::memcpy(p.data(), &ptr, 8);
  const auto launch = kernel_launch(Session::u64(f.outputs.at(0)), p, blocks, 1024);
  auto a = s.calls({launch, cc::MemcpyDtoH{ptr, blocks * 4, 0}});
  EXPECT_EQ(a.result, 0) << a.message;
  std::set<std::uint32_t> sms;
  for (std::uint32_t b = 0; b < blocks && a.result == 0; ++b) {
    std::uint32_t sm = 0;
    std::memcpy(&sm, a.outputs.at(0).data() + b * 4, 4);
    sms.insert(sm);
  }
  return sms;
}

TEST(RemoteSession, ASharedPoolsHighVmsRunOnSmsTheOthersCannotTake) {
  REQUIRE_GPU();
  Session high(30, 0, "trusted", 2), low(31, 0, "trusted", 0), alone(32);
  const auto high_sms = sms_used(high), low_sms = sms_used(low), all_sms = sms_used(alone);
  // high_reserved_sms 16: whole groups of the device's partition size (8 SMs on an H100).
  EXPECT_GE(high_sms.size(), 1u);
  EXPECT_LE(high_sms.size(), 16u) << "the high VM ran on more SMs than its reserve";
  EXPECT_GT(low_sms.size(), 16u);
  for (auto sm : high_sms) EXPECT_EQ(low_sms.count(sm), 0u) << "SM " << sm << " is in both";
  // Outside a shared pool a session has the whole device.
  EXPECT_GT(all_sms.size(), low_sms.size());
}

TEST(RemoteSession, ABatchPastItsTimeEndsItsSessionAndNoOneElses) {
  REQUIRE_GPU();
  Session endless(30), other(31);
  const auto [module, add_one, poke] = endless.kernels();
  auto f = endless.calls({cc::GetFunction{module, "spin"}});
  ASSERT_EQ(f.result, 0) << f.message;
  std::vector<std::uint8_t> ten_seconds(8);
  const std::uint64_t ns = 10'000'000'000ull;
  std::memcpy(ten_seconds.data(), &ns, 8);
  cc::Launch launch;
  launch.function = Session::u64(f.outputs.at(0));
  launch.params = ten_seconds;
  cc::Writer w;
  cc::encode(w, launch);
  cc::encode(w, cc::CtxSync{});
  const auto start = std::chrono::steady_clock::now();
  auto r = run(30, cc::kOpCalls, endless.device.session, w.bytes());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, sdk::Status::execution_error);
  EXPECT_NE(r.message.find("ran longer than 2 s"), std::string::npos) << r.message;
  EXPECT_LT(took, std::chrono::seconds(8)) << "answered at the limit, not when the kernel ended";
  auto again = run(30, cc::kOpCalls, endless.device.session, {});
  EXPECT_NE(again.message.find("unknown session"), std::string::npos) << again.message;
  endless.device.session = 0;  // already gone
  EXPECT_NE(other.alloc(4096), 0u) << "another VM's session goes on";
}

}  // namespace
