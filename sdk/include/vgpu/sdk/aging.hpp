// The starvation guard shared by priority policies: every `aging` a job has waited raises it one
// priority level (low -> medium -> high), never above high. Zero `aging` means off.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

inline int aged_level(int level, Clock::time_point enqueued_at, Clock::time_point now,
                      std::chrono::milliseconds aging) {
  if (aging.count() <= 0) return level;
  const std::int64_t steps = (now - enqueued_at) / aging;
  return static_cast<int>(std::min<std::int64_t>(kPriorityLevels - 1, level + steps));
}

}  // namespace vgpu::sdk
