// Jobs for the SDK's unit tests.
#pragma once

#include <memory>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk::test_jobs {

// A job that is nothing but its id: for queues and pools, which never look inside.
inline JobPtr job_with_id(JobId id) {
  auto job = std::make_shared<Job>();
  job->id = id;
  return job;
}

}  // namespace vgpu::sdk::test_jobs
