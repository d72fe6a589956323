// Counters per (pool, priority) and per VM. Touched only by the scheduler thread.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "metrics/histogram.hpp"
#include "vgpu/sdk/job.hpp"

namespace vgpu::core {

// Counts by Status, indexed by its wire number: nothing is allocated on the scheduler's path.
struct StatusCounts {
  static constexpr std::size_t kSlots = 16;  // wire numbers 0..14, and 15 for anything newer
  static_assert(static_cast<std::size_t>(sdk::Status::quota_exceeded) < kSlots - 1);
  std::array<std::uint64_t, kSlots> n{};

  void add(sdk::Status s) { ++n[slot(s)]; }
  void add(const StatusCounts& other) {
    for (std::size_t i = 0; i < kSlots; ++i) n[i] += other.n[i];
  }
  std::uint64_t count(sdk::Status s) const { return n[slot(s)]; }
  std::uint64_t total() const {
    std::uint64_t sum = 0;
    for (auto v : n) sum += v;
    return sum;
  }
  template <typename F>
  void each(F f) const {  // f(status, count) for every status counted
    for (std::size_t i = 0; i < kSlots; ++i)
      if (n[i]) f(static_cast<sdk::Status>(i), n[i]);
  }

 private:
  static std::size_t slot(sdk::Status s) {
    return std::min<std::size_t>(static_cast<std::size_t>(s), kSlots - 1);
  }
};

struct Counters {
  std::uint64_t queued = 0;   // now
  std::uint64_t running = 0;  // now
  std::uint64_t cancelled = 0;
  double wait_max_ms = 0;
  std::string pool;
  int priority = 0;
  // For the Prometheus endpoint: finished jobs by their result's status (ok, execution_error,
  // quota_exceeded, ...), refusals at admission by status, and the two durations of a job.
  StatusCounts finished_by_status;
  StatusCounts rejected_by_reason;          // refused at admission (queue full, shutting down, ...)
  metrics::DurationHistogram wait_seconds;  // admission -> start
  metrics::DurationHistogram run_seconds;   // start -> result
  double device_seconds = 0;                // GPU (or CPU) time the executor reports
  std::uint64_t memory_quota_bytes = 0;     // the VM's, as of its last job

  std::uint64_t done() const { return finished_by_status.count(sdk::Status::ok); }
  std::uint64_t failed() const { return finished_by_status.total() - done(); }
  std::uint64_t rejected() const { return rejected_by_reason.total(); }
  double mean_wait_ms() const {
    const auto n = wait_seconds.count();
    return n ? wait_seconds.sum_seconds() * 1000 / static_cast<double>(n) : 0.0;
  }

  nlohmann::json to_json() const;
  // Adds another device's counters for the same VM or group.
  void merge(const Counters& other);
};

class SchedulerStats {
 public:
  void enqueued(const sdk::Tenant& t) {
    each(t, [](Counters& c) { ++c.queued; });
  }
  void rejected(const sdk::Tenant& t, sdk::Status reason) {
    each(t, [reason](Counters& c) { c.rejected_by_reason.add(reason); });
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
  const std::map<std::pair<std::string, int>, Counters>& groups() const { return by_group_; }
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
