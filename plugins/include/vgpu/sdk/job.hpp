// The job model shared by transports, policies, executors and the core.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vgpu::sdk {

using Clock = std::chrono::steady_clock;
using JobId = std::uint64_t;
using Buffer = std::vector<std::uint8_t>;

enum class Priority : int { low = 0, medium = 1, high = 2 };
inline constexpr int kPriorityLevels = 3;

inline const char* priority_name(int priority) {
  switch (priority) {
    case 0:
      return "low";
    case 1:
      return "medium";
    case 2:
      return "high";
  }
  return "invalid";
}

// Who a job belongs to. Always resolved by the core from the config DB through the identity the
// transport proved; never taken from the request.
struct Tenant {
  std::uint32_t vm_id = 0;
  std::string pool;
  int priority = static_cast<int>(Priority::medium);
  double weight = 1.0;       // the VM's weight inside its pool
  double pool_weight = 1.0;  // the pool's weight
  // Device memory the VM's jobs may hold at once (DB column memory_quota_mb); 0 = no quota.
  std::uint64_t memory_quota_bytes = 0;
};

struct Param {
  std::string key;
  std::string value;
};

struct Job {
  JobId id = 0;
  std::uint64_t client_tag = 0;  // echoed back in the result
  Tenant tenant;
  std::string op;
  std::vector<Param> params;
  std::vector<Buffer> inputs;
  std::optional<Clock::time_point> deadline;
  Clock::time_point enqueued_at{};

  std::optional<std::string_view> param(std::string_view key) const {
    for (const auto& p : params)
      if (p.key == key) return p.value;
    return std::nullopt;
  }
};
using JobPtr = std::shared_ptr<Job>;

enum class Status : std::uint16_t {
  ok = 0,
  bad_request = 1,
  unknown_op = 2,
  queue_full = 3,
  cancelled = 4,
  execution_error = 5,
  shutting_down = 6,
  unauthenticated = 7,
  deadline_exceeded = 8,
  internal_error = 9,
  quota_exceeded = 10,
};

inline const char* to_string(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::bad_request:
      return "bad_request";
    case Status::unknown_op:
      return "unknown_op";
    case Status::queue_full:
      return "queue_full";
    case Status::cancelled:
      return "cancelled";
    case Status::execution_error:
      return "execution_error";
    case Status::shutting_down:
      return "shutting_down";
    case Status::unauthenticated:
      return "unauthenticated";
    case Status::deadline_exceeded:
      return "deadline_exceeded";
    case Status::internal_error:
      return "internal_error";
    case Status::quota_exceeded:
      return "quota_exceeded";
  }
  return "unknown_status";
}

// Measured cost of one job, reported by the executor and fed back to the policy.
struct Usage {
  std::chrono::nanoseconds wall{0};
  std::chrono::nanoseconds device{0};
};

struct JobResult {
  Status status = Status::ok;
  std::string message;
  std::vector<Buffer> outputs;
  Usage usage;                          // filled by the executor
  std::chrono::nanoseconds queued{0};   // admission -> start, filled by the core
  std::uint64_t dispatch_sequence = 0;  // order in which the mediator started jobs

  static JobResult failure(Status status, std::string message) {
    JobResult r;
    r.status = status;
    r.message = std::move(message);
    return r;
  }
};

}  // namespace vgpu::sdk
