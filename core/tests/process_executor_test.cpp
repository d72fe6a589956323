// `isolation: process` when a device's worker cannot come back (a GPU that fell off the bus):
// the executor says so through unusable(), which placement and vgpu_executor_usable read, and
// jobs fail with the reason instead of waiting forever; and a worker holds nothing of the
// mediator's but its channel. The real worker program is used.
#include "isolation/process_executor.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

using namespace vgpu;
using namespace std::chrono_literals;

namespace {

struct NullLog : sdk::Logger {
  void log(sdk::LogLevel, std::string_view) override {}
};

// The real worker program (`program`) running the cpu executor for device 1 of two.
core::isolation::ProcessExecutor::Launch cpu_device_1(const std::filesystem::path& program,
                                                      const std::filesystem::path& dir) {
  const std::string config =
      "plugin_dirs: [" + (std::filesystem::path(VGPU_BUILD_DIR) / "plugins").string() +
      "]\ntransports: [{plugin: tcp, port: 0}]\npolicy: {plugin: fifo}\n"
      "executors:\n  - {plugin: cpu, devices: [0, 1], simulated_devices: 2, workers: 1}\n";
  core::isolation::ProcessExecutor::Launch launch;
  launch.program = program;
  launch.setup = {config, "test.yaml", dir, 0, 1};
  launch.name = "cpu:1";
  return launch;
}

TEST(ProcessExecutor, AWorkerThatCannotBeRestartedMakesItsDeviceUnusable) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vgpu-process-executor-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // A copy of the worker program that the test can take away once the first worker runs.
  const auto program = dir / "vgpu-mediator";
  std::filesystem::copy_file(std::filesystem::path(VGPU_BUILD_DIR) / "bin" / "vgpu-mediator",
                             program, std::filesystem::copy_options::overwrite_existing);
  NullLog log;
  core::isolation::ProcessExecutor executor(cpu_device_1(program, dir), log);
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

// `fd` moved to the lowest free number at or above `floor`, without close-on-exec.
int moved_above(int fd, int floor) {
  const int moved = ::fcntl(fd, F_DUPFD, floor);
  ::close(fd);
  return moved;
}

// A descriptor the mediator holds without close-on-exec while a worker starts must not reach the
// worker. Seen in CI: an admin connection being answered when a killed worker was replaced lived
// on in the new worker, and the client waited for the end of its answer as long as that worker
// ran. Here a socket pair stands for that connection: once this process closes its end, the
// other end must see the end at once, with the worker running, over the socket and the rings.
TEST(ProcessExecutor, TheWorkerInheritsNothingButItsChannel) {
  for (const auto poll : {0us, 1000us}) {
    SCOPED_TRACE(poll.count() ? "rings (isolation_poll_us)" : "socket only");
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);  // no close-on-exec, on purpose
    // Above the numbers the child's own descriptors take, which would replace it there.
    for (int& fd : pair) fd = moved_above(fd, 20);
    auto launch = cpu_device_1(std::filesystem::path(VGPU_BUILD_DIR) / "bin" / "vgpu-mediator",
                               std::filesystem::temp_directory_path());
    launch.poll = poll;
    NullLog log;
    core::isolation::ProcessExecutor executor(std::move(launch), log);
    ASSERT_GT(executor.worker_pid(), 0);
    ::close(pair[0]);
    pollfd end{pair[1], POLLIN, 0};
    char byte;
    if (::poll(&end, 1, 5000) == 1)
      EXPECT_EQ(::read(pair[1], &byte, 1), 0) << "the end of the stream";
    else
      ADD_FAILURE() << "the other end stayed open: the worker holds it";
    ::close(pair[1]);
    executor.stop();
  }
}

}  // namespace
