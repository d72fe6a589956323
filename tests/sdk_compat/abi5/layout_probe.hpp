// The layout of every struct an ABI 5 policy or executor shares with the core, as one list of
// numbers. Compiled once against the frozen ABI 5 headers (into the ABI 5 plugins, exported as
// vgpu_abi5_layout) and once against today's SDK (in the test), so the test compares what the
// compiled plugins expect with what the core now passes them.
#pragma once

#include <cstddef>

#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/job.hpp"
#include "vgpu/sdk/policy.hpp"

#define VGPU_ABI5_LAYOUT                                                                           \
  {                                                                                                \
    sizeof(vgpu::sdk::Tenant), offsetof(vgpu::sdk::Tenant, pool),                                  \
        offsetof(vgpu::sdk::Tenant, priority), offsetof(vgpu::sdk::Tenant, weight),                \
        offsetof(vgpu::sdk::Tenant, pool_weight), offsetof(vgpu::sdk::Tenant, memory_quota_bytes), \
        sizeof(vgpu::sdk::OutputPlace), sizeof(vgpu::sdk::Param), sizeof(vgpu::sdk::Job),          \
        offsetof(vgpu::sdk::Job, client_tag), offsetof(vgpu::sdk::Job, tenant),                    \
        offsetof(vgpu::sdk::Job, op), offsetof(vgpu::sdk::Job, params),                            \
        offsetof(vgpu::sdk::Job, inputs), offsetof(vgpu::sdk::Job, output_places),                 \
        offsetof(vgpu::sdk::Job, deadline), offsetof(vgpu::sdk::Job, enqueued_at),                 \
        sizeof(vgpu::sdk::Status), sizeof(vgpu::sdk::Usage), sizeof(vgpu::sdk::JobResult),         \
        offsetof(vgpu::sdk::JobResult, message), offsetof(vgpu::sdk::JobResult, outputs),          \
        offsetof(vgpu::sdk::JobResult, placed_sizes), offsetof(vgpu::sdk::JobResult, usage),       \
        offsetof(vgpu::sdk::JobResult, queued), offsetof(vgpu::sdk::JobResult, dispatch_sequence), \
        sizeof(vgpu::sdk::SlotInfo), offsetof(vgpu::sdk::SlotInfo, index),                         \
        offsetof(vgpu::sdk::SlotInfo, admits), sizeof(vgpu::sdk::PolicyStat),                      \
        sizeof(vgpu::sdk::ExecutorInfo), offsetof(vgpu::sdk::ExecutorInfo, slots),                 \
        offsetof(vgpu::sdk::ExecutorInfo, ops), offsetof(vgpu::sdk::ExecutorInfo, device),         \
        offsetof(vgpu::sdk::ExecutorInfo, max_in_flight)                                           \
  }

inline constexpr std::size_t kAbi5LayoutEntries = 35;
