// Counters per (pool, priority) and per VM. Touched only by the scheduler thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

  nlohmann::json to_json() const;
};

class SchedulerStats {
 public:
  void enqueued(const sdk::Tenant& t) {
    each(t, [](Counters& c) { ++c.queued; });
  }
  void rejected(const sdk::Tenant& t) {
    each(t, [](Counters& c) { ++c.rejected; });
  }
  void started(const sdk::Tenant& t, std::chrono::nanoseconds wait);
  void finished(const sdk::Tenant& t, bool ok);
  void cancelled(const sdk::Tenant& t) {
    each(t, [](Counters& c) { --c.queued, ++c.cancelled; });
  }

  const Counters& vm(std::uint32_t vm_id) { return by_vm_[vm_id]; }
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
    f(g);
    f(v);
  }

  std::map<std::pair<std::string, int>, Counters> by_group_;
  std::map<std::uint32_t, Counters> by_vm_;
};

}  // namespace vgpu::core
