// The job model shared by transports, policies, executors and the core.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/protocol/types.hpp"

namespace vgpu::sdk {

using Clock = std::chrono::steady_clock;
using JobId = std::uint64_t;
using Buffer = protocol::Buffer;

enum class Priority : int { low = 0, medium = 1, high = 2 };
using protocol::kPriorityLevels;
using protocol::priority_name;

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

// Memory a client shares with the mediator (docs/protocol.md, "Shared memory"): one region per
// VM, mapped by the transport that proved the VM's identity. A job's outputs can be written
// straight into it, skipping the copy through the transport. Every job that points into a region
// holds it, so it stays mapped until the last of them is answered.
class SharedRegion {
 public:
  virtual ~SharedRegion() = default;
  virtual std::uint8_t* base() const = 0;
  virtual std::size_t size() const = 0;
  virtual const std::string& name() const = 0;  // for messages: the file behind it
};

// Where the client wants one output: `capacity` bytes at `offset` of its region. The transport
// has checked that the range lies inside the region.
struct OutputPlace {
  std::shared_ptr<SharedRegion> region;
  std::size_t offset = 0;
  std::size_t capacity = 0;
  std::uint8_t* data() const { return region->base() + offset; }
};

using Param = protocol::Param;

struct Job {
  JobId id = 0;
  std::uint64_t client_tag = 0;  // echoed back in the result
  Tenant tenant;
  std::string op;
  std::vector<Param> params;
  std::vector<Buffer> inputs;
  // Empty, or one place per output: an executor may write output i straight there (see
  // JobResult::placed_sizes); whatever it returns in `outputs` instead the core copies there.
  std::vector<OutputPlace> output_places;
  std::optional<Clock::time_point> deadline;
  Clock::time_point enqueued_at{};

  std::optional<std::string_view> param(std::string_view key) const {
    for (const auto& p : params)
      if (p.key == key) return p.value;
    return std::nullopt;
  }
};
using JobPtr = std::shared_ptr<Job>;

// The status of a result, and what the caller should do next for each: see
// vgpu/protocol/types.hpp. The guest reads the same numbers.
using Status = protocol::Status;
using protocol::to_string;

// Measured cost of one job, reported by the executor and fed back to the policy.
struct Usage {
  std::chrono::nanoseconds wall{0};
  std::chrono::nanoseconds device{0};
};

struct JobResult {
  Status status = Status::ok;
  std::string message;
  std::vector<Buffer> outputs;
  // Set by an executor that wrote its outputs straight into the job's output_places: the size of
  // each (then `outputs` is empty). Empty when the outputs are in `outputs`.
  std::vector<std::uint64_t> placed_sizes;
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
