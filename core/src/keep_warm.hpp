// keep_warm_us (a core key of an executor entry): at a probe's pace — a high-priority job every
// few milliseconds and nothing else — every job finds the mediator's path cold: its threads'
// caches hold other work, the worker process's channel and the GPU's clocks have gone idle.
// Measured on an H100 (docs/gpu-test-log.md, eighth session), a 1 us kernel sent through the
// whole path every millisecond brought such a job's p99 from 1.7-1.9x the same kernel run
// natively to 1.1-1.2x. This class decides when the scheduler sends such a warm-up job: only while
// a top-priority job arrived within kKeepWarmFor, only when nothing has been dispatched for the
// interval, nothing waits and a slot is free, one at a time. Warm-up jobs pass by the policy and
// the statistics: no VM sent them and none is charged.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "vgpu/sdk/job.hpp"

namespace vgpu::core {

class KeepWarm {
 public:
  // Past this long after the last top-priority job the path is left to cool: a VM that sends a
  // job a second or less often pays the cold path, and warming the GPU for it costs launches
  // that buy it almost nothing.
  static constexpr std::chrono::seconds kKeepWarmFor{1};
  // Warm-up jobs run at the top priority level: on the streams and partition a high VM's job uses.
  static constexpr int kPriority = sdk::kPriorityLevels - 1;
  // Warm-up jobs' ids, far above any id the mediator gives a VM's job (it counts from 1).
  static constexpr sdk::JobId kFirstId = sdk::JobId(1) << 62;

  // A zero interval: never warms.
  explicit KeepWarm(std::chrono::microseconds interval) : interval_(interval) {}

  bool enabled() const { return interval_.count() > 0 && !off_; }
  // A VM's job was admitted; top-priority ones start (or prolong) warming, in their pool.
  void job_arrived(const sdk::Job& job, sdk::Clock::time_point now);
  // Any job, warm-up or not, went to the executor.
  void dispatched(sdk::Clock::time_point now) { last_dispatch_ = now; }
  // When the next warm-up is due; time_point::max() while none will be.
  sdk::Clock::time_point next_due() const;
  // The warm-up job to dispatch now, if one is due and `slot_free` and nothing waits.
  sdk::JobPtr take_due(sdk::Clock::time_point now, bool slot_free, bool nothing_waits);
  // The warm-up job ended. A refusal that will repeat (the executor does not know the op, or
  // refuses its parameters) turns warming off: the returned line says why, for the log.
  std::optional<std::string> ended(sdk::Status status, const std::string& message);
  std::uint64_t sent() const { return sent_; }

 private:
  std::chrono::microseconds interval_;
  bool off_ = false;
  bool in_flight_ = false;
  bool seen_top_ = false;
  sdk::Clock::time_point last_top_{};
  sdk::Clock::time_point last_dispatch_{};
  std::string pool_;  // the last top-priority job's: its SM partition is the one to warm
  std::uint64_t sent_ = 0;
};

}  // namespace vgpu::core
