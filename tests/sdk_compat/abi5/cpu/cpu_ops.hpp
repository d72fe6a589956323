// The built-in ops computed on the host. Pure functions: one job in, one result out.
#pragma once

#include "vgpu/sdk/job.hpp"

namespace vgpu::executors {

// Runs `job.op` and returns its result; a bad op or bad input gives a failed result naming why.
sdk::JobResult run_cpu_op(const sdk::Job& job);

}  // namespace vgpu::executors
