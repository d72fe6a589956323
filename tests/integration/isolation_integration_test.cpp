// `isolation: process`: the executor runs in a child of the mediator that the mediator replaces
// when it dies or loses its GPU context. Real mediator, real worker processes, real TCP.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "client.hpp"
#include "guest_helpers.hpp"
#include "http_get.hpp"
#include "mediator_process.hpp"
#include "vgpu/sdk/job.hpp"

namespace vgpu::testing {
namespace {

using namespace std::chrono_literals;

const std::string kIsolatedCpu = "  - plugin: cpu\n    isolation: process\n    workers: 2\n";

// The mediator's child processes (its executor worker).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') out.push_back(std::stoi(name));
  }
  return out;
}

// The worker process cannot see the client's shared memory: its outputs come back over the
// worker's socket and the mediator puts them in place.
TEST(ProcessIsolation, OutputsReachSharedMemoryFromTheWorkerProcess) {
  const auto shm =
      std::filesystem::temp_directory_path() / ("vgpu-iso-shm-" + std::to_string(::getpid()));
  MediatorProcess m({{"vm", "A", "high"}}, "", "strict_priority", 1,
                    "    shared_memory_dir: " + shm.string() + "\n    shared_memory_mb: 1\n",
                    kIsolatedCpu);
  const auto& vm = m.vm("vm");
  guest::ConnectOptions options;
  options.shared_memory = true;
  auto c = guest::Client::connect("127.0.0.1", m.port(), vm.vm_id, vm.token, options);
  c.map_shared_memory();
  const std::vector<sdk::Param> params = {{"n", "257"}, {"seed", "5"}};
  const auto inline_result = c.run("saxpy", params);
  const auto placed = c.run_shared("saxpy", params, {}, {{512, 257 * 4}});
  ASSERT_EQ(placed.status, sdk::Status::ok) << placed.message;
  ASSERT_EQ(placed.shared_outputs.size(), 1u);
  EXPECT_EQ(sdk::Buffer(placed.shared_outputs[0].begin(), placed.shared_outputs[0].end()),
            inline_result.outputs.at(0));
  std::filesystem::remove_all(shm);
}

TEST(ProcessIsolation, ResultsAreTheSameAsInProcess) {
  MediatorProcess isolated({{"vm", "A", "high"}}, "", "strict_priority", 1, "", kIsolatedCpu);
  MediatorProcess in_process({{"vm", "A", "high"}});
  EXPECT_EQ(children_of(isolated.pid()).size(), 1u) << "one worker process";
  EXPECT_TRUE(children_of(in_process.pid()).empty());
  auto a = connect_as(isolated, "vm");
  auto b = connect_as(in_process, "vm");
  for (const auto* op : {"vector_add", "saxpy", "reduce_sum", "gemm"}) {
    const std::vector<sdk::Param> params = {{"n", "257"}, {"seed", "5"}};
    const auto x = a.run(op, params);
    const auto y = b.run(op, params);
    ASSERT_EQ(x.status, sdk::Status::ok) << op << ": " << x.message;
    EXPECT_EQ(x.outputs, y.outputs) << op;
    EXPECT_GT(x.wall_ns, 0u) << op << ": the worker's usage comes back";
  }
  const auto bad = a.run("vector_add", {{"n", "-3"}});
  EXPECT_EQ(bad.status, b.run("vector_add", {{"n", "-3"}}).status);
}

// isolation_poll_us: both ends of the worker's channel poll before sleeping; the jobs' results
// are the same, and a worker killed while its channel is polled is replaced as without polling.
TEST(ProcessIsolation, APolledWorkerChannelCarriesTheSameResults) {
  MediatorProcess polled({{"vm", "A", "high"}}, "", "strict_priority", 1, "",
                         kIsolatedCpu + "    isolation_poll_us: 5000\n");
  MediatorProcess in_process({{"vm", "A", "high"}});
  auto a = connect_as(polled, "vm");
  auto b = connect_as(in_process, "vm");
  for (int i = 0; i < 50; ++i) {
    const std::vector<sdk::Param> params = {{"n", std::to_string(100 + i)}, {"seed", "7"}};
    const auto x = a.run("saxpy", params);
    ASSERT_EQ(x.status, sdk::Status::ok) << x.message;
    EXPECT_EQ(x.outputs, b.run("saxpy", params).outputs) << i;
  }
  const auto workers = children_of(polled.pid());
  ASSERT_EQ(workers.size(), 1u);
  ::kill(workers[0], SIGKILL);
  sdk::Status after = sdk::Status::execution_error;
  for (int i = 0; i < 100 && after != sdk::Status::ok; ++i) {
    std::this_thread::sleep_for(50ms);
    after = a.run("noop", {}).status;
  }
  EXPECT_EQ(after, sdk::Status::ok) << "a new worker took over";
}

TEST(ProcessIsolation, AKilledWorkerFailsOnlyItsJobsAndANewOneTakesOver) {
  MediatorProcess m({{"vm", "A", "high"}, {"other", "B", "low"}},
                    "metrics:\n  listen: 127.0.0.1\n  port: 0\n", "strict_priority", 1, "",
                    kIsolatedCpu);
  // The worker's executor telemetry reaches the metrics through the worker's socket.
  auto scrape = [&] { return http_get(m.metrics_url()); };
  EXPECT_NE(scrape().find("vgpu_executor_worker_threads{plugin=\"cpu\"} 2\n"), std::string::npos)
      << scrape();
  EXPECT_NE(scrape().find("vgpu_executor_restarts_total{executor=\"cpu\"} 0\n"), std::string::npos)
      << scrape();
  const auto workers = children_of(m.pid());
  ASSERT_EQ(workers.size(), 1u);
  auto long_job = std::async(std::launch::async, [&] {
    return connect_as(m, "vm").run("spin", {{"us", "5000000"}});
  });
  ASSERT_TRUE(eventually(
      [&] { return m.stats()["vms"].dump().find("\"running\":1") != std::string::npos; }));
  ::kill(workers[0], SIGKILL);
  const auto lost = long_job.get();
  EXPECT_EQ(lost.status, sdk::Status::execution_error);
  EXPECT_NE(lost.message.find("killed by signal 9"), std::string::npos) << lost.message;

  // The mediator is still up, a new worker takes the next jobs, for everyone.
  const auto next = connect_as(m, "other").run("reduce_sum", {{"n", "1000"}});
  EXPECT_EQ(next.status, sdk::Status::ok) << next.message;
  const auto now = children_of(m.pid());
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0], workers[0]);
  EXPECT_TRUE(m.running());
  EXPECT_NE(m.log().find("1 jobs in it failed; starting a new one"), std::string::npos) << m.log();
  const auto after = scrape();
  EXPECT_NE(after.find("vgpu_executor_restarts_total{executor=\"cpu\"} 1\n"), std::string::npos)
      << after;
  EXPECT_NE(after.find("vgpu_executor_worker_threads{plugin=\"cpu\"} 2\n"), std::string::npos)
      << after;
  // A graceful stop lets the worker finish and leaves no process behind.
  EXPECT_EQ(m.stop(SIGTERM), 0) << m.log();
  EXPECT_TRUE(eventually([&] { return ::kill(now[0], 0) != 0; }, 5s)) << "worker left running";
}

TEST(ProcessIsolation, BadSettingsAreReportedWithTheirLineAsInProcess) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vgpu-iso-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto check = [&](const std::string& executor) { return check_executors_config(dir, executor); };

  auto r = check("  - plugin: cpu\n    isolation: process\n    workers: lots\n");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("m.yaml:11:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("workers"), std::string::npos) << r.output;
  r = check("  - plugin: cpu\n    isolation: thread\n");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("m.yaml:10:16: bad value 'thread' for 'isolation'"), std::string::npos)
      << r.output;
  r = check("  - plugin: cpu\n    isolation: process\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = check("  - plugin: cpu\n    isolation: process\n    isolation_poll_us: 20000\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = check("  - plugin: cpu\n    isolation_poll_us: 20000\n");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("'isolation_poll_us' needs 'isolation: process'"), std::string::npos)
      << r.output;
  r = check("  - plugin: cpu\n    isolation: process\n    isolation_poll_us: -1\n");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("m.yaml:11:24: bad value -1 for 'isolation_poll_us'"), std::string::npos)
      << r.output;
  std::filesystem::remove_all(dir);
}

// On a GPU: a sticky CUDA error (an illegal address, from the cuda executor's fault injection)
// poisons only the worker process; the mediator replaces it and the next job runs on the GPU.
TEST(ProcessIsolation, TheCudaExecutorSurvivesAStickyErrorInItsOwnProcess) {
  std::unique_ptr<MediatorProcess> m;
  try {
    m = std::make_unique<MediatorProcess>(
        std::vector<TestVm>{{"vm", "A", "high"}}, "", "strict_priority", 1, "",
        "  - plugin: cuda\n    isolation: process\n    slots: 2\n    fault_injection: true\n");
  } catch (const std::exception& e) {
    const std::string why = e.what();
    // Only "unavailable" or "not built" skip; a worker that fails otherwise fails the test.
    if (why.find("no configured executor could start") != std::string::npos)
      GTEST_SKIP() << "no CUDA device (or no cuda executor built): " << why.substr(0, 300);
    throw;
  }
  auto c = connect_as(*m, "vm");
  const auto before = c.run("vector_add", {{"n", "100000"}, {"seed", "3"}});
  ASSERT_EQ(before.status, sdk::Status::ok) << before.message;
  const auto fault = c.run("fault", {});
  EXPECT_EQ(fault.status, sdk::Status::execution_error);
  EXPECT_NE(fault.message.find("illegal"), std::string::npos) << fault.message;
  const auto after = c.run("vector_add", {{"n", "100000"}, {"seed", "3"}});
  ASSERT_EQ(after.status, sdk::Status::ok) << after.message << "\n" << m->log();
  EXPECT_EQ(after.outputs, before.outputs);
  EXPECT_NE(m->log().find("sticky CUDA error lost the GPU context"), std::string::npos) << m->log();
}

}  // namespace
}  // namespace vgpu::testing
