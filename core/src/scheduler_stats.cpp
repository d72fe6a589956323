#include "scheduler_stats.hpp"

#include <cstdio>

namespace vgpu::core {

nlohmann::json Counters::to_json() const {
  return {{"pool", pool},
          {"priority", sdk::priority_name(priority)},
          {"queued", queued},
          {"running", running},
          {"done", done()},
          {"failed", failed()},
          {"cancelled", cancelled},
          {"rejected", rejected()},
          {"mean_wait_ms", mean_wait_ms()},
          {"max_wait_ms", wait_max_ms}};
}

void Counters::merge(const Counters& other) {
  if (pool.empty()) pool = other.pool, priority = other.priority;
  queued += other.queued;
  running += other.running;
  cancelled += other.cancelled;
  wait_max_ms = std::max(wait_max_ms, other.wait_max_ms);
  finished_by_status.add(other.finished_by_status);
  rejected_by_reason.add(other.rejected_by_reason);
  wait_seconds.merge(other.wait_seconds);
  run_seconds.merge(other.run_seconds);
  device_seconds += other.device_seconds;
  memory_quota_bytes = std::max(memory_quota_bytes, other.memory_quota_bytes);
}

void SchedulerStats::started(const sdk::Tenant& t, std::chrono::nanoseconds wait) {
  const double ms = std::chrono::duration<double, std::milli>(wait).count();
  each(t, [ms, wait](Counters& c) {
    --c.queued;
    ++c.running;
    c.wait_seconds.observe(wait);
    if (ms > c.wait_max_ms) c.wait_max_ms = ms;
  });
}

void SchedulerStats::finished(const sdk::Tenant& t, sdk::Status status,
                              std::chrono::nanoseconds ran, std::chrono::nanoseconds device_time) {
  const double device = std::chrono::duration<double>(device_time).count();
  each(t, [&](Counters& c) {
    --c.running;
    c.finished_by_status.add(status);
    c.run_seconds.observe(ran);
    c.device_seconds += device;
  });
}

nlohmann::json SchedulerStats::to_json() const {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [key, c] : by_group_) groups.push_back(c.to_json());
  nlohmann::json vms = nlohmann::json::object();
  for (const auto& [vm_id, c] : by_vm_) vms[std::to_string(vm_id)] = c.to_json();
  return {{"groups", groups}, {"vms", vms}};
}

std::vector<std::string> SchedulerStats::log_lines() const {
  std::vector<std::string> lines;
  for (const auto& [key, c] : by_group_) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "pool %s %-6s queued=%llu running=%llu done=%llu failed=%llu cancelled=%llu "
                  "rejected=%llu mean_wait=%.2fms max_wait=%.2fms",
                  c.pool.c_str(), sdk::priority_name(c.priority), (unsigned long long)c.queued,
                  (unsigned long long)c.running, (unsigned long long)c.done(),
                  (unsigned long long)c.failed(), (unsigned long long)c.cancelled,
                  (unsigned long long)c.rejected(), c.mean_wait_ms(), c.wait_max_ms);
    lines.emplace_back(line);
  }
  return lines;
}

}  // namespace vgpu::core
