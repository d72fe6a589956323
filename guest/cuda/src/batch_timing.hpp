// Where a program's waits go (VGPU_CUDA_TIMING=1): each batch's round trip as the program saw
// it, split by the mediator's own figures in its RESULT into time queued in the mediator, time
// in the executor (of it on the GPU), and the rest (the transport both ways and the mediator's
// path). Printed once at exit, so an operator or a tenant can tell a slow GPU from a slow path.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace vgpu::guest::cuda {

class BatchTiming {
 public:
  void add(std::uint64_t round_trip_ns, std::uint64_t queued_ns, std::uint64_t executor_ns,
           std::uint64_t device_ns) {
    round_trip_.push_back(round_trip_ns);
    queued_.push_back(queued_ns);
    executor_.push_back(executor_ns);
    device_.push_back(device_ns);
    const std::uint64_t inside = queued_ns + executor_ns;
    rest_.push_back(round_trip_ns > inside ? round_trip_ns - inside : 0);
  }
  // "N batches, p50 / p99 in microseconds: round trip a / b; queued c / d; executor e / f (GPU
  // g / h); the rest i / j", or "" when there were none.
  std::string summary() const {
    if (round_trip_.empty()) return "";
    auto part = [](const char* name, std::vector<std::uint64_t> v) {
      std::sort(v.begin(), v.end());
      auto at = [&](std::size_t percent) {
        return v[std::min(v.size() - 1, v.size() * percent / 100)] / 1000.0;
      };
      char line[128];
      std::snprintf(line, sizeof line, "%s %.1f / %.1f", name, at(50), at(99));
      return std::string(line);
    };
    const bool device_known =
        std::any_of(device_.begin(), device_.end(), [](std::uint64_t d) { return d != 0; });
    return std::to_string(round_trip_.size()) +
           " batches, p50 / p99 in microseconds: " + part("round trip", round_trip_) + "; " +
           part("queued in the mediator", queued_) + "; " + part("in the executor", executor_) +
           (device_known ? " (" + part("on the GPU", device_) + ")" : std::string()) + "; " +
           part("the rest (transport and the mediator's path)", rest_);
  }

 private:
  std::vector<std::uint64_t> round_trip_, queued_, executor_, device_, rest_;
};

}  // namespace vgpu::guest::cuda
