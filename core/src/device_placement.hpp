// Which device a VM's jobs run on, when the mediator drives several (docs/multi-gpu.md): the
// config DB's pin when there is one, else the policy's Placement role, else the least loaded
// usable device. A VM keeps its device while it has jobs queued or running, so its jobs keep
// their order and the executor state kept for it stays on one device.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "identity_directory.hpp"
#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/placement.hpp"

namespace vgpu::core {

class DevicePlacement {
 public:
  // The devices' current loads (slots, queued, running, usable); `vms` is filled in here.
  using LoadReader = std::function<std::vector<sdk::DeviceLoad>()>;

  DevicePlacement(std::size_t devices, LoadReader loads, sdk::Logger& log);

  // The policy's Placement role, or null for the default. The object must outlive its use:
  // replace it before destroying the old one.
  void set_placer(sdk::Placement* placer);

  // The device for the VM's next job, which is then counted on it until release(); or, when
  // the VM is pinned to a device this mediator does not drive, why not.
  std::variant<std::size_t, std::string> acquire(const sdk::Tenant& tenant,
                                                 const std::optional<DevicePin>& pin);
  // One job acquire() counted has left its device.
  void release(std::uint32_t vm_id);

  // Where the VM's jobs are now, if it has any queued or running.
  std::optional<std::size_t> device_of(std::uint32_t vm_id) const;
  // VMs with jobs on each device now.
  std::vector<std::size_t> vms_per_device() const;
  std::size_t devices() const { return devices_; }

 private:
  struct Placed {
    std::size_t device = 0;
    std::size_t jobs = 0;
  };
  // With mutex_ held.
  std::size_t choose(const sdk::Tenant& tenant);
  static std::size_t least_loaded(const std::vector<sdk::DeviceLoad>& loads);

  const std::size_t devices_;
  LoadReader loads_;
  sdk::Logger& log_;
  mutable std::mutex mutex_;
  sdk::Placement* placer_ = nullptr;
  std::unordered_map<std::uint32_t, Placed> placed_;
  std::vector<std::size_t> vms_on_;  // per device
  bool placer_fault_logged_ = false;
};

}  // namespace vgpu::core
