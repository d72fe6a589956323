// An executor runs jobs: on the GPU (cuda) or on host threads (cpu).
//
// Threads: info() and execute() are called by whoever holds the scheduler's turn (see policy.hpp),
// one call at a time; stop() by the core's main thread; unusable() as its comment says. `done` may
// be called from any thread, also from inside execute(), and must be called exactly once per job.
//
// Layout: frozen for SDK major 1, and identical to plugin ABI 5, whose compiled executors still
// load. New operations are added after unusable(), with a default body.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

struct ExecutorInfo {
  std::string name;
  unsigned slots = 1;  // jobs it runs at the same time
  std::vector<std::string> ops;
  std::string device;  // human-readable, e.g. "cpu (4 threads)"
  // Device admission, per priority level (index 0 low .. 2 high): the most jobs of that level the
  // executor wants in flight at once; 0 means up to `slots`. The core holds the rest back, so a
  // later high-priority job still finds a free slot instead of a device queue full of low work.
  std::array<unsigned, kPriorityLevels> max_in_flight{};
};

using DoneCallback = std::function<void(JobResult)>;

class Executor {
 public:
  virtual ~Executor() = default;

  // info: what the executor offers. Called once after the factory, and again for the admin
  // endpoint; the answer must not change. Required.
  virtual ExecutorInfo info() const = 0;

  // execute: run `job` and call `done` exactly once with its result. Returns at once; the core
  // never has more than info().slots jobs inside at a time. The job's tenant is the VM's at
  // admission. Status to return: ok; bad_request for parameters or inputs the op cannot take
  // (say which); unknown_op; quota_exceeded when the VM's memory quota cannot hold the job;
  // execution_error for a failure while running (message starting "interrupted:" when the job
  // may succeed if sent again). Throwing instead of calling `done` fails the job with
  // execution_error "executor refused the job: <what>". Required.
  virtual void execute(JobPtr job, DoneCallback done) = 0;

  // stop: finish the jobs it holds (their `done` still runs), then join its threads. Called
  // once, after the scheduler stopped giving it jobs. Required.
  virtual void stop() = 0;

  // unusable: why this executor can run no more jobs in this process (a GPU context lost to a
  // sticky error), or nothing while it can. Called by the core after every job, on the thread
  // that called `done`, so it must be thread-safe and cheap. With
  // `isolation: process` the core then replaces the executor's process; in-process it only shows
  // in every later job's error. Optional: the default is always usable.
  virtual std::optional<std::string> unusable() const { return std::nullopt; }
};

// Thrown by an executor factory when its hardware is absent, so the core can fall back to the
// next configured executor. Any other exception is a real error.
class ExecutorUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace vgpu::sdk
