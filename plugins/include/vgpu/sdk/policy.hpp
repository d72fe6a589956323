// A scheduling policy: owns the queued jobs and decides which runs next.
#pragma once

#include <string>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

// The executor slot that has become free and asks for work.
struct SlotInfo {
  std::string executor;
  unsigned index = 0;
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
