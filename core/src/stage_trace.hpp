// Where each job's time goes inside the mediator, for latency analysis (bench/stage_trace.py).
// Off unless the environment names a file in VGPU_STAGE_TRACE: then, for every job the executor
// finishes, the mediator keeps when it was submitted (its frame read), dispatched to the
// executor, started and finished there (the finish minus the executor's own wall time), its
// result delivered to the client's connection, and how long of it the device took, and writes
// them to that file when it stops. Times are steady_clock (CLOCK_MONOTONIC) nanoseconds, the
// clock of every process on the host, so a client on the same host that stamps its send and
// receive the same way (vgpu-loadgen --trace) splits each round trip into its parts. Recording
// takes no lock and never allocates: the first kCapacity jobs are kept, later ones are counted
// and dropped. The scheduler stamps (SchedulerHooks::stage_trace); the mediator passes it get().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vgpu::core {

struct StageStamps {
  std::uint32_t vm_id = 0;
  std::uint64_t client_tag = 0;
  std::int64_t submitted_ns = 0, dispatched_ns = 0, executor_started_ns = 0, executor_done_ns = 0,
               delivered_ns = 0;
  std::int64_t device_ns = 0;  // of the executor's time, on the device (a duration)
};

class StageTrace {
 public:
  static constexpr std::size_t kCapacity = 1 << 20;

  // The process's trace, or nullptr when VGPU_STAGE_TRACE is unset or empty. Its memory is
  // taken and touched on the first call, which belongs at start, not in a job's path.
  static StageTrace* get();

  void record(const StageStamps& stamps);
  // Writes what was recorded (a header line, then one line per job) and says how many were
  // dropped; an error writing names the file.
  void write() const;

  std::size_t recorded() const;
  std::size_t dropped() const;

  explicit StageTrace(std::string path, std::size_t capacity = kCapacity);

 private:
  std::string path_;
  std::vector<StageStamps> stamps_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace vgpu::core
