// `isolation: process` when a device's worker cannot come back (a GPU that fell off the bus):
// the executor says so through unusable(), which placement and vgpu_executor_usable read, and
// jobs fail with the reason instead of waiting forever. The real worker program is used.
#include "isolation/process_executor.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <future>
#include <thread>

using namespace vgpu;
using namespace std::chrono_literals;

namespace {

struct NullLog : sdk::Logger {
  void log(sdk::LogLevel, std::string_view) override {}
};

TEST(ProcessExecutor, AWorkerThatCannotBeRestartedMakesItsDeviceUnusable) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vgpu-process-executor-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // A copy of the worker program that the test can take away once the first worker runs.
  const auto program = dir / "vgpu-mediator";
  std::filesystem::copy_file(std::filesystem::path(VGPU_BUILD_DIR) / "bin" / "vgpu-mediator",
                             program, std::filesystem::copy_options::overwrite_existing);
  const std::string config =
      "plugin_dirs: [" + (std::filesystem::path(VGPU_BUILD_DIR) / "plugins").string() +
      "]\ntransports: [{plugin: tcp, port: 0}]\npolicy: {plugin: fifo}\n"
      "executors:\n  - {plugin: cpu, devices: [0, 1], simulated_devices: 2, workers: 1}\n";
  core::isolation::ProcessExecutor::Launch launch;
  launch.program = program;
  launch.setup = {config, "test.yaml", dir, 0, 1};
  launch.name = "cpu:1";
  NullLog log;
  core::isolation::ProcessExecutor executor(std::move(launch), log);
  EXPECT_FALSE(executor.unusable());
  EXPECT_EQ(executor.info().device, "cpu device 1 (1 worker threads)")
      << "the worker made the instance for device 1";
  const pid_t first = executor.worker_pid();
  ASSERT_GT(first, 0);

  std::filesystem::remove(program);
  ::kill(first, SIGKILL);
  std::optional<std::string> why;
  for (int i = 0; i < 500 && !why; ++i) {
    std::this_thread::sleep_for(10ms);
    why = executor.unusable();
  }
  ASSERT_TRUE(why) << "no worker and none can start: unusable";
  EXPECT_NE(why->find("executor 'cpu:1' has no worker process"), std::string::npos) << *why;
  EXPECT_EQ(executor.worker_pid(), -1);

  // A job now is answered with the reason (after the next failed restart), not left waiting.
  auto job = std::make_shared<sdk::Job>();
  job->id = 1;
  job->op = "noop";
  std::promise<sdk::JobResult> result;
  executor.execute(job, [&](sdk::JobResult r) { result.set_value(std::move(r)); });
  auto answer = result.get_future();
  ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
  const auto r = answer.get();
  EXPECT_EQ(r.status, sdk::Status::execution_error);
  EXPECT_NE(r.message.find("has no worker process"), std::string::npos) << r.message;
  executor.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
