// An executor runs jobs: on the GPU (cuda) or on host threads (cpu).
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
  virtual ExecutorInfo info() const = 0;
  // Asynchronous: returns at once and calls `done` exactly once, from any thread. The core never
  // gives it more jobs than info().slots at a time.
  virtual void execute(JobPtr job, DoneCallback done) = 0;
  // Finishes the jobs it holds (their callbacks still run) and joins its threads.
  virtual void stop() = 0;
  // Why this executor can run no more jobs in this process (a GPU context lost to a sticky
  // error), or nothing while it can. Run with `isolation: process`, the core replaces the
  // executor's process when this says so; in-process it only shows in every later job's error.
  virtual std::optional<std::string> unusable() const { return std::nullopt; }
};

// Thrown by an executor factory when its hardware is absent, so the core can fall back to the
// next configured executor. Any other exception is a real error.
class ExecutorUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace vgpu::sdk
