#include "hypervisor.hpp"

#include "hypervisor_adapters.hpp"
#include "process.hpp"

namespace vgpu::admin {

std::unique_ptr<Hypervisor> make_hypervisor(const std::string& kind) {
  if (kind == "xcpng") return std::make_unique<XcpngHypervisor>();
  if (kind == "libvirt") return std::make_unique<LibvirtHypervisor>();
  if (kind == "none") return std::make_unique<NoHypervisor>();
  if (kind == "auto") {
    if (on_path("xe")) return std::make_unique<XcpngHypervisor>();
    if (on_path("virsh")) return std::make_unique<LibvirtHypervisor>();
    return std::make_unique<NoHypervisor>();
  }
  throw HypervisorError("unknown hypervisor '" + kind + "': use xcpng, libvirt, none or auto");
}

}  // namespace vgpu::admin
