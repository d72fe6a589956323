#include "stage_trace.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace vgpu::core {

StageTrace::StageTrace(std::string path, std::size_t capacity)
    : path_(std::move(path)), stamps_(capacity) {}

StageTrace* StageTrace::get() {
  static const std::unique_ptr<StageTrace> trace = []() -> std::unique_ptr<StageTrace> {
    const char* path = std::getenv("VGPU_STAGE_TRACE");
    if (!path || !*path) return nullptr;
    return std::make_unique<StageTrace>(path);
  }();
  return trace.get();
}

void StageTrace::record(const StageStamps& stamps) {
  const std::size_t at = next_.fetch_add(1, std::memory_order_relaxed);
  if (at < stamps_.size()) stamps_[at] = stamps;
}

std::size_t StageTrace::recorded() const {
  return std::min(next_.load(std::memory_order_acquire), stamps_.size());
}

std::size_t StageTrace::dropped() const {
  const std::size_t n = next_.load(std::memory_order_acquire);
  return n > stamps_.size() ? n - stamps_.size() : 0;
}

void StageTrace::write() const {
  std::FILE* out = std::fopen(path_.c_str(), "w");
  if (!out) throw std::runtime_error("VGPU_STAGE_TRACE: cannot write " + path_);
  std::fprintf(out,
               "# vm_id client_tag submitted dispatched executor_started executor_done "
               "delivered (steady_clock ns) device (ns); dropped %zu\n",
               dropped());
  for (std::size_t i = 0; i < recorded(); ++i) {
    const auto& s = stamps_[i];
    std::fprintf(out, "%u %llu %lld %lld %lld %lld %lld %lld\n", s.vm_id,
                 static_cast<unsigned long long>(s.client_tag),
                 static_cast<long long>(s.submitted_ns), static_cast<long long>(s.dispatched_ns),
                 static_cast<long long>(s.executor_started_ns),
                 static_cast<long long>(s.executor_done_ns), static_cast<long long>(s.delivered_ns),
                 static_cast<long long>(s.device_ns));
  }
  if (std::fclose(out) != 0) throw std::runtime_error("VGPU_STAGE_TRACE: cannot write " + path_);
}

}  // namespace vgpu::core
