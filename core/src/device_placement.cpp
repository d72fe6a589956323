#include "device_placement.hpp"

#include <algorithm>

namespace vgpu::core {

DevicePlacement::DevicePlacement(std::size_t devices, LoadReader loads, sdk::Logger& log)
    : devices_(devices), loads_(std::move(loads)), log_(log), vms_on_(devices, 0) {}

void DevicePlacement::set_placer(sdk::Placement* placer) {
  std::lock_guard lock(mutex_);
  placer_ = placer;
  placer_fault_logged_ = false;
}

std::variant<std::size_t, std::string> DevicePlacement::acquire(
    const sdk::Tenant& tenant, const std::optional<DevicePin>& pin) {
  std::lock_guard lock(mutex_);
  if (auto it = placed_.find(tenant.vm_id); it != placed_.end()) {
    ++it->second.jobs;  // it stays where its earlier jobs are, pinned elsewhere since or not
    return it->second.device;
  }
  std::size_t device = 0;
  if (pin) {
    if (pin->device < 0 || static_cast<std::size_t>(pin->device) >= devices_)
      return "vm_id " + std::to_string(tenant.vm_id) + " is pinned to device " +
             std::to_string(pin->device) + " (" + pin->source + "), but this mediator drives " +
             (devices_ == 1 ? std::string("only device 0")
                            : "devices 0 to " + std::to_string(devices_ - 1));
    device = static_cast<std::size_t>(pin->device);
  } else {
    device = choose(tenant);
  }
  placed_.emplace(tenant.vm_id, Placed{device, 1});
  ++vms_on_[device];
  return device;
}

void DevicePlacement::release(std::uint32_t vm_id) {
  std::lock_guard lock(mutex_);
  auto it = placed_.find(vm_id);
  if (it == placed_.end()) return;
  if (--it->second.jobs == 0) {
    --vms_on_[it->second.device];
    placed_.erase(it);
  }
}

std::optional<std::size_t> DevicePlacement::device_of(std::uint32_t vm_id) const {
  std::lock_guard lock(mutex_);
  auto it = placed_.find(vm_id);
  if (it == placed_.end()) return std::nullopt;
  return it->second.device;
}

std::vector<std::size_t> DevicePlacement::vms_per_device() const {
  std::lock_guard lock(mutex_);
  return vms_on_;
}

std::size_t DevicePlacement::choose(const sdk::Tenant& tenant) {
  if (devices_ == 1) return 0;
  auto loads = loads_();
  loads.resize(devices_);
  for (std::size_t i = 0; i < devices_; ++i) {
    loads[i].index = i;
    loads[i].vms = vms_on_[i];
  }
  if (placer_) {
    std::string fault;
    try {
      if (auto chosen = placer_->place(tenant, loads)) {
        if (*chosen < devices_ && loads[*chosen].usable) return *chosen;
        fault = "answered device " + std::to_string(*chosen) + ", which " +
                (*chosen < devices_ ? "is unusable" : "does not exist");
      }
    } catch (const std::exception& e) {
      fault = std::string("threw: ") + e.what();
    } catch (...) {
      fault = "threw a non-standard exception";
    }
    // Logged once per placer: a policy that gets it wrong would otherwise log every job.
    if (!fault.empty() && !placer_fault_logged_) {
      placer_fault_logged_ = true;
      log_.error("the policy's placement " + fault + " for vm_id " + std::to_string(tenant.vm_id) +
                 "; the least loaded device is used (logged once)");
    }
  }
  return least_loaded(loads);
}

std::size_t DevicePlacement::least_loaded(const std::vector<sdk::DeviceLoad>& loads) {
  // Jobs per slot first, then the VMs already there, then the lower number; an unusable device
  // only when every device is.
  std::optional<std::size_t> best;
  auto better = [&](const sdk::DeviceLoad& a, const sdk::DeviceLoad& b) {
    if (a.usable != b.usable) return a.usable;
    const double la = double(a.queued + a.running) / double(std::max(1u, a.slots));
    const double lb = double(b.queued + b.running) / double(std::max(1u, b.slots));
    if (la != lb) return la < lb;
    return a.vms < b.vms;
  };
  for (std::size_t i = 0; i < loads.size(); ++i)
    if (!best || better(loads[i], loads[*best])) best = i;
  return best.value_or(0);
}

}  // namespace vgpu::core
