// The order of one session's batches when its guest keeps two in flight (docs/remote-cuda.md,
// "Two batches in flight"). The scheduler may hand a session's batches to two executor slots at
// once, and their threads race for the session; a batch the guest sent before it saw its
// predecessor's answer ("chained") must run after that predecessor, and not at all when the
// predecessor failed, as the calls after a failing call of one batch never run. Batches without
// a number (a guest with one batch in flight) are not ordered here.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace vgpu::executors::cuda::remote {

class BatchOrder {
 public:
  enum class Turn {
    run,                  // the batch may run now
    predecessor_failed,   // chained to a batch that failed (or was not run): answer, run nothing
    predecessor_missing,  // chained to a batch that never reached the session within the grace
  };

  // Before the session is taken: a chained batch `seq` waits, at most `grace`, until batch
  // seq - 1 has begun (its slot's thread may still be on its way). A predecessor that never
  // begins was refused on the way (a full queue) or held back by a policy that reorders one VM's
  // jobs; the guest learns of it from that batch's own answer.
  Turn wait_for_predecessor(std::uint64_t seq, std::chrono::milliseconds grace);
  // With the session taken (one batch at a time): whether batch `seq` runs. Records it as begun
  // either way; end() must follow.
  Turn begin(std::uint64_t seq, bool chained);
  // Batch `seq` is over: `ok` when every call of it ran.
  void end(std::uint64_t seq, bool ok);

 private:
  std::mutex mutex_;
  std::condition_variable begun_;
  std::uint64_t last_begun_ = 0;
  std::uint64_t last_ended_ = 0;
  bool last_ok_ = true;
};

}  // namespace vgpu::executors::cuda::remote
