// Counters per (pool, priority) and per VM. Touched only by the scheduler thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "metrics/histogram.hpp"
#include "vgpu/sdk/job.hpp"

namespace vgpu::core {

struct Counters {
  std::uint64_t queued = 0;   // now
  std::uint64_t running = 0;  // now
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t rejected = 0;  // refused at admission (queue full, shutting down, ...)
  std::uint64_t waits = 0;
  double wait_sum_ms = 0;
  double wait_max_ms = 0;
  std::string pool;
  int priority = 0;
  // For the Prometheus endpoint: finished jobs by their result's status (ok, execution_error,
  // quota_exceeded, ...), refusals at admission by status, and the two durations of a job.
  std::map<std::string, std::uint64_t> finished_by_status;
  std::map<std::string, std::uint64_t> rejected_by_reason;
  metrics::DurationHistogram wait_seconds;  // admission -> start
  metrics::DurationHistogram run_seconds;   // start -> result
  double device_seconds = 0;                // GPU (or CPU) time the executor reports
  std::uint64_t memory_quota_bytes = 0;     // the VM's, as of its last job

  nlohmann::json to_json() const;
};

class SchedulerStats {
 public:
  void enqueued(const sdk::Tenant& t) {
    each(t, [](Counters& c) { ++c.queued; });
  }
  void rejected(const sdk::Tenant& t, sdk::Status reason) {
    each(t, [reason](Counters& c) {
      ++c.rejected;
      ++c.rejected_by_reason[sdk::to_string(reason)];
    });
  }
  void started(const sdk::Tenant& t, std::chrono::nanoseconds wait);
  // `ran`: start to result; `device`: the time the executor says the job used its device.
  void finished(const sdk::Tenant& t, sdk::Status status, std::chrono::nanoseconds ran = {},
                std::chrono::nanoseconds device = {});
  void cancelled(const sdk::Tenant& t) {
    each(t, [](Counters& c) { --c.queued, ++c.cancelled; });
  }

  const Counters& vm(std::uint32_t vm_id) { return by_vm_[vm_id]; }
  const std::map<std::uint32_t, Counters>& vms() const { return by_vm_; }
  nlohmann::json to_json() const;
  // One readable line per pool and priority, for the periodic log.
  std::vector<std::string> log_lines() const;

 private:
  template <typename F>
  void each(const sdk::Tenant& t, F f) {
    Counters& g = by_group_[{t.pool, t.priority}];
    g.pool = t.pool;
    g.priority = t.priority;
    Counters& v = by_vm_[t.vm_id];
    v.pool = t.pool;
    v.priority = t.priority;
    v.memory_quota_bytes = t.memory_quota_bytes;
    f(g);
    f(v);
  }

  std::map<std::pair<std::string, int>, Counters> by_group_;
  std::map<std::uint32_t, Counters> by_vm_;
};

}  // namespace vgpu::core
