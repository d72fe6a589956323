// Clients' shared-memory regions pinned for DMA (cudaHostRegister), so a job's output is copied
// from the device straight into the client's memory instead of through the pinned staging buffer
// and a host memcpy. A region is pinned once, on its first job, and stays pinned while the
// executor holds it; regions no job or connection uses any more are unpinned when another one is
// pinned, and all at the end.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::executors::cuda {

class HostRegistrations {
 public:
  HostRegistrations() = default;
  ~HostRegistrations();
  HostRegistrations(const HostRegistrations&) = delete;
  HostRegistrations& operator=(const HostRegistrations&) = delete;

  // Pins `region` unless it is already. Returns an error text when the driver refuses (then the
  // output goes through the staging buffer); empty on success.
  std::string pin(const std::shared_ptr<sdk::SharedRegion>& region);
  // After a context was destroyed its registrations are gone: forget them without unpinning.
  void forget_all();
  std::size_t pinned() const;

 private:
  void unpin_unused();  // holds mutex_

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<sdk::SharedRegion>> pinned_;
};

}  // namespace vgpu::executors::cuda
