// The mediator's side of `isolation: process`: an sdk::Executor that runs the configured
// executor in a child process (`vgpu-mediator --executor-worker`) and starts a fresh one when
// that process dies or reports that it cannot go on (a GPU context lost to a sticky CUDA
// error). Only the jobs that were inside the lost process fail, with the reason; jobs that
// arrive while the new process starts wait for it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/executor.hpp"
#include "worker_protocol.hpp"

namespace vgpu::core::isolation {

// The worker could not build its executor: bad settings (already "file:line:col: ...") or a
// plugin that cannot be loaded.
class WorkerSetupError : public std::runtime_error {
 public:
  enum class Kind { config, load, other };
  WorkerSetupError(Kind kind, const std::string& what) : std::runtime_error(what), kind(kind) {}
  Kind kind;
};

class ProcessExecutor final : public sdk::Executor, public sdk::Telemetry {
 public:
  struct Launch {
    std::filesystem::path program;  // vgpu-mediator itself
    WorkerSetup setup;
    std::string name;  // the plugin's name, for messages
    std::chrono::milliseconds start_timeout{60000};
    std::chrono::milliseconds stop_grace{30000};
    std::chrono::microseconds poll{0};  // isolation_poll_us: this side's Channel::set_poll
  };

  // Starts the first worker and waits until its executor is built. Throws
  // sdk::ExecutorUnavailable (the core tries the next executor) or WorkerSetupError.
  ProcessExecutor(Launch launch, sdk::Logger& log);
  ~ProcessExecutor() override;

  sdk::ExecutorInfo info() const override { return info_; }
  void execute(sdk::JobPtr job, sdk::DoneCallback done) override;
  void stop() override;
  // Why no worker process runs while starting a replacement keeps failing (a GPU that fell off
  // the bus); nothing while one runs or is starting. The mediator then places no new VM here.
  std::optional<std::string> unusable() const override;
  // sdk::Telemetry: the worker's executor's readings, asked for over the socketpair (at most
  // 1 s of waiting; nothing while a replacement starts).
  std::vector<sdk::Reading> readings() const override;
  // Worker processes started to replace one that died or lost its GPU context.
  std::uint64_t restarts() const { return restarts_.load(); }
  // The worker process serving now; -1 while a replacement starts.
  pid_t worker_pid() const;

 private:
  struct Worker {
    pid_t pid = -1;
    std::shared_ptr<Channel> channel;
  };
  struct Waiting {
    sdk::JobPtr job;
    sdk::DoneCallback done;
  };

  Worker start_worker();
  void supervise();
  // Reaps the process; says how it ended ("exited with status 3", "was killed by signal 9").
  static std::string reap(pid_t pid);
  void send_job(const std::shared_ptr<Channel>& channel, const sdk::Job& job);

  Launch launch_;
  sdk::Logger& log_;
  sdk::ExecutorInfo info_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Worker worker_;  // no channel while a replacement starts
  // False from a worker's `lost` message until its replacement is ready: new jobs wait instead
  // of going to a process that is about to exit.
  bool worker_usable_ = true;
  bool stopping_ = false;
  bool supervisor_done_ = false;
  std::unordered_map<sdk::JobId, sdk::DoneCallback> in_flight_;
  std::deque<Waiting> waiting_;
  std::thread supervisor_;
  std::atomic<std::uint64_t> restarts_{0};
  std::string start_failure_;  // guarded by mutex_: the last failed restart, until one works
  // The latest answer to a readings request, and how many answers came so far.
  mutable std::mutex readings_mutex_;
  mutable std::condition_variable readings_arrived_;
  std::vector<sdk::Reading> last_readings_;
  std::uint64_t readings_answers_ = 0;
};

}  // namespace vgpu::core::isolation
