#include "batch_order.hpp"

namespace vgpu::executors::cuda::remote {

BatchOrder::Turn BatchOrder::wait_for_predecessor(std::uint64_t seq,
                                                  std::chrono::milliseconds grace) {
  std::unique_lock lock(mutex_);
  // A number at or below what has begun is the guest's own confusion: it only affects its own
  // session, so the batch is let through rather than held.
  const bool begun =
      begun_.wait_for(lock, grace, [&] { return seq == 0 || last_begun_ >= seq - 1; });
  return begun ? Turn::run : Turn::predecessor_missing;
}

BatchOrder::Turn BatchOrder::begin(std::uint64_t seq, bool chained) {
  std::lock_guard lock(mutex_);
  // The predecessor has ended: it held the session until then, and this batch holds it now.
  const bool predecessor_failed = chained && seq > 0 && last_ended_ == seq - 1 && !last_ok_;
  if (seq > last_begun_) last_begun_ = seq;
  begun_.notify_all();
  return predecessor_failed ? Turn::predecessor_failed : Turn::run;
}

void BatchOrder::end(std::uint64_t seq, bool ok) {
  std::lock_guard lock(mutex_);
  if (seq >= last_ended_) {
    last_ended_ = seq;
    last_ok_ = ok;
  }
}

}  // namespace vgpu::executors::cuda::remote
