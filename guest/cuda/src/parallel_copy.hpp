// Large copies between a program's memory and its slot of the shared memory, split across a few
// threads: one core copies ~10 GB/s, less than the host's copies to and from the GPU, so a
// single-threaded copy in the guest is what bounds a large cudaMemcpy (docs/remote-cuda.md).
// The helpers start at the first large copy, watch for the next piece a moment after each, then
// sleep. In a child after fork() there are none, and copies are plain.
#pragma once

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace vgpu::guest::cuda {

class ParallelCopy {
 public:
  // `threads`: how many copy at once, the caller included (1: memcpy alone).
  explicit ParallelCopy(unsigned threads);
  ParallelCopy(const ParallelCopy&) = delete;
  ParallelCopy& operator=(const ParallelCopy&) = delete;
  // Stops and joins the helpers (in a child after fork() there are none to join).
  ~ParallelCopy();

  // memcpy's contract: the ranges do not overlap. One copy at a time (callers hold the driver's
  // lock).
  void copy(void* dst, const void* src, std::size_t n);
  unsigned threads() const { return threads_; }

  // Copies below this go in one piece: splitting costs more than it saves.
  static constexpr std::size_t kSplitFrom = std::size_t(1) << 20;

 private:
  struct Piece {
    std::uint8_t* dst = nullptr;
    const std::uint8_t* src = nullptr;
    std::size_t n = 0;
  };
  void start_helpers();
  void helper(unsigned index);

  const unsigned threads_;
  pid_t started_in_ = 0;  // the process whose helpers these are
  std::vector<Piece> pieces_;
  std::mutex mutex_;
  std::condition_variable work_, done_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<unsigned> pending_{0};
  bool stop_ = false;  // guarded by mutex_
  std::vector<std::thread> helpers_;
};

}  // namespace vgpu::guest::cuda
