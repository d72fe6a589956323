#include "keep_warm.hpp"

#include "vgpu/sdk/ops.hpp"

namespace vgpu::core {
void KeepWarm::job_arrived(const sdk::Job& job, sdk::Clock::time_point now) {
  if (job.tenant.priority < kPriority) return;
  seen_top_ = true;
  last_top_ = now;
  pool_ = job.tenant.pool;
}

sdk::Clock::time_point KeepWarm::next_due() const {
  if (!enabled() || !seen_top_ || in_flight_) return sdk::Clock::time_point::max();
  const auto due = last_dispatch_ + interval_;
  return due > last_top_ + kKeepWarmFor ? sdk::Clock::time_point::max() : due;
}

sdk::JobPtr KeepWarm::take_due(sdk::Clock::time_point now, bool slot_free, bool nothing_waits) {
  if (!slot_free || !nothing_waits || now < next_due()) return nullptr;
  auto job = std::make_shared<sdk::Job>();
  job->id = kFirstId + sent_;
  job->tenant.vm_id = 0;  // no VM: the executor charges nobody's quota for it
  job->tenant.pool = pool_;
  job->tenant.priority = kPriority;
  // The smallest real launch: one block for 1 us (the cpu executor spins 1 us).
  job->op = std::string(sdk::ops::kSpin);
  job->params = {{"us", "1"}, {"blocks", "1"}};
  job->enqueued_at = now;
  in_flight_ = true;
  ++sent_;
  last_dispatch_ = now;
  return job;
}

std::optional<std::string> KeepWarm::ended(sdk::Status status, const std::string& message) {
  in_flight_ = false;
  if (status != sdk::Status::unknown_op && status != sdk::Status::bad_request) return std::nullopt;
  off_ = true;
  return "keep_warm_us: the executor refused the warm-up job (" + std::string(to_string(status)) +
         ": " + message + "); warming is off until the mediator restarts";
}

}  // namespace vgpu::core
