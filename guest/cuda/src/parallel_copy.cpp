#include "parallel_copy.hpp"

#include <chrono>
#include <cstring>
#include <thread>

namespace vgpu::guest::cuda {

namespace {
// How long a helper watches for the next piece before it sleeps: a large copy's chunks follow
// each other within a round trip to the host.
constexpr auto kWatch = std::chrono::microseconds(300);
}  // namespace

ParallelCopy::ParallelCopy(unsigned threads) : threads_(threads < 1 ? 1 : threads) {}

ParallelCopy::~ParallelCopy() {
  if (helpers_.empty()) return;
  if (started_in_ != ::getpid()) {  // a child after fork(): the threads are not here
    for (auto& t : helpers_) t.detach();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  work_.notify_all();
  for (auto& t : helpers_) t.join();
}

void ParallelCopy::start_helpers() {
  pieces_.resize(threads_);
  started_in_ = ::getpid();
  for (unsigned i = 1; i < threads_; ++i) helpers_.emplace_back([this, i] { helper(i); });
}

void ParallelCopy::copy(void* dst, const void* src, std::size_t n) {
  if (threads_ == 1 || n < kSplitFrom) {
    std::memcpy(dst, src, n);
    return;
  }
  if (started_in_ == 0) start_helpers();
  if (started_in_ != ::getpid()) {  // a child after fork(): the helpers stayed in the parent
    std::memcpy(dst, src, n);
    return;
  }
  // Pieces of whole cache lines, the caller's first.
  const std::size_t share = (n / threads_ + 63) & ~std::size_t(63);
  auto* d = static_cast<std::uint8_t*>(dst);
  const auto* s = static_cast<const std::uint8_t*>(src);
  std::size_t at = 0;
  for (unsigned i = 0; i < threads_; ++i) {
    const std::size_t len = at < n ? std::min(share, n - at) : 0;
    pieces_[i] = {d + at, s + at, len};
    at += len;
  }
  {
    std::lock_guard lock(mutex_);
    pending_.store(threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  work_.notify_all();
  std::memcpy(pieces_[0].dst, pieces_[0].src, pieces_[0].n);
  const auto until = std::chrono::steady_clock::now() + kWatch;
  while (pending_.load(std::memory_order_acquire) != 0 &&
         std::chrono::steady_clock::now() < until) {
  }
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
}

void ParallelCopy::helper(unsigned index) {
  std::uint64_t seen = 0;
  for (;;) {
    const auto until = std::chrono::steady_clock::now() + kWatch;
    while (generation_.load(std::memory_order_acquire) == seen &&
           std::chrono::steady_clock::now() < until) {
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    seen = generation_.load(std::memory_order_acquire);
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
    }
    const Piece piece = pieces_[index];
    std::memcpy(piece.dst, piece.src, piece.n);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace vgpu::guest::cuda
