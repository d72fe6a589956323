// The hypervisors vgpu-admin talks to: XCP-ng/XenServer (xe), libvirt/KVM (virsh), or none
// (print what would be applied). Each lists the VMs it knows and writes a VM's vgpu-stub device
// argument where that hypervisor's QEMU picks it up at the VM's next start.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "device_args.hpp"

namespace vgpu::admin {

class HypervisorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HypervisorVm {
  std::string uuid;
  std::string name;
  std::string state;  // as the hypervisor says it: running, halted, shut off, ...
};

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  virtual std::string name() const = 0;
  virtual std::vector<HypervisorVm> list_vms() = 0;
  // Makes the device part of the VM's next start. Returns what was done, for the operator (and
  // the hooks' logs): never the token.
  virtual std::string apply(const std::string& uuid, const DeviceSpec& device) = 0;
};

// "xcpng", "libvirt", "none", or "auto" (xe on PATH, else virsh, else none).
std::unique_ptr<Hypervisor> make_hypervisor(const std::string& kind);

}  // namespace vgpu::admin
