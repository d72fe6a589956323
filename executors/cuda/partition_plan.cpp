#include "partition_plan.hpp"

namespace vgpu::executors::cuda {

namespace {
unsigned groups_for(unsigned sms, unsigned granularity) {
  return (sms + granularity - 1) / granularity;
}
}  // namespace

PartitionPlan plan_partitions(const PartitionRequest& request, unsigned groups_available,
                              unsigned granularity) {
  if (granularity == 0) throw PartitionError("the device reports an SM granularity of 0");
  PartitionPlan plan;
  plan.granularity = granularity;
  unsigned left = groups_available;
  auto take = [&](const std::string& name, const std::string& setting, unsigned sms) {
    if (sms == 0) throw PartitionError(setting + ": 0 SMs would leave nothing to run on");
    const unsigned groups = groups_for(sms, granularity);
    if (groups > left)
      throw PartitionError(
          setting + ": " + std::to_string(sms) + " SMs (" + std::to_string(groups * granularity) +
          " in whole groups of " + std::to_string(granularity) + ") do not fit: only " +
          std::to_string(left * granularity) + " of the device's " +
          std::to_string(groups_available * granularity) + " partitionable SMs are left");
    left -= groups;
    plan.partitions.push_back({name, groups, groups * granularity});
  };
  if (request.high_reserved_sms) take("high", "high_reserved_sms", request.high_reserved_sms);
  for (const auto& [pool, sms] : request.pool_sms) take("pool " + pool, "pool_sms." + pool, sms);
  if (left) plan.partitions.push_back({"shared", left, left * granularity});
  return plan;
}

std::string partition_for(const PartitionPlan& plan, const std::string& pool, bool high_priority) {
  if (high_priority && plan.find("high")) return "high";
  if (plan.find("pool " + pool)) return "pool " + pool;
  return plan.find("shared") ? "shared" : "";
}

}  // namespace vgpu::executors::cuda
