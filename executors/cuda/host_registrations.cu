#include <cuda_runtime.h>

#include <algorithm>

#include "host_registrations.hpp"

namespace vgpu::executors::cuda {

HostRegistrations::~HostRegistrations() {
  std::lock_guard lock(mutex_);
  for (const auto& region : pinned_) cudaHostUnregister(region->base());
}

std::string HostRegistrations::pin(const std::shared_ptr<sdk::SharedRegion>& region) {
  std::lock_guard lock(mutex_);
  if (std::find(pinned_.begin(), pinned_.end(), region) != pinned_.end()) return {};
  unpin_unused();
  // Portable: pinned for every context, green contexts included.
  const cudaError_t e = cudaHostRegister(region->base(), region->size(), cudaHostRegisterPortable);
  if (e != cudaSuccess) {
    cudaGetLastError();  // not sticky: clear it so that the job's own calls do not see it
    return std::string("cudaHostRegister of ") + region->name() + ": " + cudaGetErrorString(e);
  }
  pinned_.push_back(region);
  return {};
}

void HostRegistrations::unpin_unused() {
  // Held only here: no connection or job uses the region any more.
  std::erase_if(pinned_, [](const std::shared_ptr<sdk::SharedRegion>& region) {
    if (region.use_count() > 1) return false;
    cudaHostUnregister(region->base());
    return true;
  });
}

void HostRegistrations::forget_all() {
  std::lock_guard lock(mutex_);
  pinned_.clear();
}

std::size_t HostRegistrations::pinned() const {
  std::lock_guard lock(mutex_);
  return pinned_.size();
}

}  // namespace vgpu::executors::cuda
