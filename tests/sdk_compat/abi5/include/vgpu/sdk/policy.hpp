// A scheduling policy: owns the queued jobs and decides which runs next.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

// The executor slot that has become free and asks for work.
struct SlotInfo {
  std::string executor;
  unsigned index = 0;
  // Device admission: which priority levels (index 0 low .. 2 high) may start now. A level is
  // closed while the executor has as many of its jobs in flight as it accepts. A policy should
  // return only jobs of open levels; one that does not is still correct, because the core then
  // holds the job back until its level opens, but a high-priority job may wait behind it.
  std::array<bool, kPriorityLevels> admits{true, true, true};
};

struct PolicyStat {
  std::string name;
  double value = 0;
};

// Called only from the core's scheduler thread, so implementations need no locks.
class Policy {
 public:
  virtual ~Policy() = default;
  // Takes ownership of a queued job.
  virtual void enqueue(JobPtr job) = 0;
  // The next job to run on `slot`, or nullptr when nothing is queued.
  virtual JobPtr dispatch(const SlotInfo& slot) = 0;
  // A dispatched job finished; `usage` is its measured cost (for fair-share policies).
  virtual void completed(const Job& job, const Usage& usage) {}
  // Removes a queued job; nullptr when it is not queued (unknown, or already dispatched).
  virtual JobPtr cancel(JobId id) = 0;
  virtual std::size_t pending() const = 0;
  // Policy-specific figures for logs and the admin endpoint.
  virtual std::vector<PolicyStat> stats() const { return {}; }
};

}  // namespace vgpu::sdk
