// The concrete adapters behind make_hypervisor().
#pragma once

#include "hypervisor.hpp"

namespace vgpu::admin {

class XcpngHypervisor final : public Hypervisor {
 public:
  std::string name() const override { return "xcpng"; }
  std::vector<HypervisorVm> list_vms() override;
  std::string apply(const std::string& uuid, const std::string& device_args) override;
};

class LibvirtHypervisor final : public Hypervisor {
 public:
  std::string name() const override { return "libvirt"; }
  std::vector<HypervisorVm> list_vms() override;
  std::string apply(const std::string& uuid, const std::string& device_args) override;
};

// No hypervisor tool: lists nothing, applies nothing, says what it would do.
class NoHypervisor final : public Hypervisor {
 public:
  std::string name() const override { return "none"; }
  std::vector<HypervisorVm> list_vms() override { return {}; }
  std::string apply(const std::string& uuid, const std::string& device_args) override {
    return "no hypervisor: start VM " + uuid + " with  -device " + device_args;
  }
};

}  // namespace vgpu::admin
