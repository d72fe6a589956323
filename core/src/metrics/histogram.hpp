// A Prometheus-style histogram of durations in seconds: cumulative counts under fixed bounds,
// chosen to span a 50 µs GPU probe to a multi-second batch job. Not thread-safe: its owner
// (the scheduler's statistics) is touched by one thread at a time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace vgpu::core::metrics {

class DurationHistogram {
 public:
  static constexpr std::array<double, 16> kBounds{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                  0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                                  0.5,     1,      2.5,     10};

  void observe(std::chrono::nanoseconds d) {
    const double s = std::chrono::duration<double>(d).count();
    for (std::size_t i = 0; i < kBounds.size(); ++i)
      if (s <= kBounds[i]) ++buckets_[i];
    ++count_;
    sum_ += s;
  }
  void merge(const DurationHistogram& other) {
    for (std::size_t i = 0; i < kBounds.size(); ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    sum_ += other.sum_;
  }
  // Observations <= kBounds[i] (cumulative, as the exposition format wants).
  std::uint64_t at_or_below(std::size_t i) const { return buckets_[i]; }
  std::uint64_t count() const { return count_; }
  double sum_seconds() const { return sum_; }

 private:
  std::array<std::uint64_t, kBounds.size()> buckets_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace vgpu::core::metrics
