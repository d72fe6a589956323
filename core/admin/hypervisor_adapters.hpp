// The concrete adapters behind make_hypervisor().
#pragma once

#include "hypervisor.hpp"

namespace vgpu::admin {

// XCP-ng: apply() writes the VM's device into a root-only folder on dom0 (default
// /var/lib/vgpu/xcpng, $VGPU_XCPNG_STATE for tests), where the vgpu device-model wrapper reads
// it when xenopsd starts the VM's QEMU (hypervisor/xcpng/, docs/hypervisors.md): nothing goes
// to XAPI, whose other-config every user who can read the VM can read.
class XcpngHypervisor final : public Hypervisor {
 public:
  std::string name() const override { return "xcpng"; }
  std::vector<HypervisorVm> list_vms() override;
  std::string apply(const std::string& uuid, const DeviceSpec& device) override;
};

class LibvirtHypervisor final : public Hypervisor {
 public:
  std::string name() const override { return "libvirt"; }
  std::vector<HypervisorVm> list_vms() override;
  std::string apply(const std::string& uuid, const DeviceSpec& device) override;
};

// No hypervisor tool: lists nothing, applies nothing, says what it would do.
class NoHypervisor final : public Hypervisor {
 public:
  std::string name() const override { return "none"; }
  std::vector<HypervisorVm> list_vms() override { return {}; }
  // Prints the argument for the operator to add by hand: the one place the token is shown.
  std::string apply(const std::string& uuid, const DeviceSpec& device) override {
    return "no hypervisor: start VM " + uuid + " with  -device " + device.with_token();
  }
};

}  // namespace vgpu::admin
