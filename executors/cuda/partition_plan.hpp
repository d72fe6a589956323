// How the GPU's SMs are divided into green-context partitions: an SM share reserved for
// high-priority work, one per configured pool, and a shared rest. Pure arithmetic, so it is
// tested without a GPU; device_resources.cu turns a plan into green contexts.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace vgpu::executors::cuda {

struct PartitionRequest {
  unsigned high_reserved_sms = 0;            // 0: high-priority jobs use their pool's SMs
  std::map<std::string, unsigned> pool_sms;  // empty: pools are not isolated
  bool any() const { return high_reserved_sms > 0 || !pool_sms.empty(); }
};

struct PlannedPartition {
  std::string name;     // "high", "pool A", or "shared"
  unsigned groups = 0;  // how many SM groups of the device's partition granularity
  unsigned sms = 0;     // groups * granularity
};

struct PartitionPlan {
  unsigned granularity = 0;                  // SMs per group (8 on an H100)
  std::vector<PlannedPartition> partitions;  // "shared" last, absent when nothing is left
  const PlannedPartition* find(const std::string& name) const {
    for (const auto& p : partitions)
      if (p.name == name) return &p;
    return nullptr;
  }
};

class PartitionError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// `groups_available` groups of `granularity` SMs can be handed out (what the driver's split
// produced). Each request is rounded up to whole groups. Throws PartitionError naming the
// request that does not fit.
PartitionPlan plan_partitions(const PartitionRequest& request, unsigned groups_available,
                              unsigned granularity);

// The partition a job runs in: the high reserve for high-priority jobs when one exists, else
// its pool's partition, else the shared rest (empty when there is none).
std::string partition_for(const PartitionPlan& plan, const std::string& pool, bool high_priority);

}  // namespace vgpu::executors::cuda
