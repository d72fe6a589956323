// A scheduling policy: owns the queued jobs and decides which runs next.
//
// Threads: the core calls a policy from one thread at a time, never two at once, with a happens-
// before edge between consecutive calls; so a policy needs no locks. It is not always the same
// thread: whoever holds the scheduler's turn makes the call, the scheduler's own thread or a
// transport's I/O thread that just submitted a job (that saves a thread wake-up per job). A
// policy must therefore not use thread-local state, and no call may block: the caller may be
// reading a guest's socket.
//
// Layout: frozen for SDK major 1, and identical to plugin ABI 5, whose compiled policies still
// load. New operations are added after stats(), with a default body.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

// The executor slot that has become free and asks for work.
struct SlotInfo {
  std::string executor;
  unsigned index = 0;
  // Device admission: which priority levels (index 0 low .. 2 high) may start now. A level is
  // closed while the executor has as many of its jobs in flight as it accepts. A policy should
  // return only jobs of open levels; one that does not is still correct, because the core then
  // holds the job back until its level opens, but a high-priority job may wait behind it.
  std::array<bool, kPriorityLevels> admits{true, true, true};
};

struct PolicyStat {
  std::string name;
  double value = 0;
};

class Policy {
 public:
  virtual ~Policy() = default;

  // enqueue: a job was admitted (authenticated, within its VM's and the mediator's queue
  // limits). The policy owns it until dispatch() or cancel() returns it.
  // Required. Must not throw: an exception here is a policy bug and stops the mediator.
  virtual void enqueue(JobPtr job) = 0;

  // dispatch: an executor slot is free; return the job to run on it, or nullptr to leave the
  // slot idle. Called again at once while it returns jobs and slots stay free, and again after
  // every enqueue() and completed(). A job returned here is the core's: it is never passed to
  // cancel(). Returning a job that was not queued is logged and ignored. A work-conserving
  // policy (the policy kit checks it) returns nullptr only when nothing is queued.
  // Required.
  virtual JobPtr dispatch(const SlotInfo& slot) = 0;

  // completed: a job this policy dispatched has finished, whatever its status; `usage` is what
  // it cost (wall and device time), for fair-share accounting. Never called for a job another
  // policy dispatched before this one replaced it. The job is read-only and gone
  // after the call.
  // Optional: the default ignores it.
  virtual void completed(const Job& job, const Usage& usage) {}

  // cancel: the job's client withdrew it, its connection closed, the mediator is shutting down,
  // or the operator replaced this policy at run time (then every queued job is cancelled here,
  // in arrival order, and enqueued into the new policy). Return the job and forget it, or
  // nullptr when it is not queued here (unknown, or already dispatched).
  // Required.
  virtual JobPtr cancel(JobId id) = 0;

  // pending: how many jobs the policy holds now. The core's statistics and the kit compare it
  // with its own count. Required.
  virtual std::size_t pending() const = 0;

  // stats: policy-specific figures for the periodic log line and the admin endpoint, by name.
  // Called every statistics interval and on every `vgpu-admin stats`. Optional: none by default.
  virtual std::vector<PolicyStat> stats() const { return {}; }
};

}  // namespace vgpu::sdk
