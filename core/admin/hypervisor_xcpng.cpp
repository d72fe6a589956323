// XCP-ng / XenServer through `xe`. Record output parsed here is xe's default format, e.g.
//   uuid ( RO)           : 0e5b...
//        name-label ( RW): web-1
//       power-state ( RO): running
// (records separated by blank lines; see docs/hypervisors.md for the source of the format).
#include <sstream>

#include "hypervisor_adapters.hpp"
#include "process.hpp"

namespace vgpu::admin {

namespace {

ProcessResult xe(const std::vector<std::string>& args) {
  return run_tool<HypervisorError>("xe", args, "is this an XCP-ng host?");
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

std::vector<HypervisorVm> XcpngHypervisor::list_vms() {
  auto r = xe({"vm-list", "is-control-domain=false", "is-a-template=false",
               "params=uuid,name-label,power-state"});
  std::vector<HypervisorVm> vms;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(':');
    const auto paren = line.find('(');
    if (colon == std::string::npos || paren == std::string::npos || paren > colon) continue;
    const std::string key = trim(line.substr(0, paren)), value = trim(line.substr(colon + 1));
    if (key == "uuid")
      vms.push_back({value, "", ""});
    else if (!vms.empty() && key == "name-label")
      vms.back().name = value;
    else if (!vms.empty() && key == "power-state")
      vms.back().state = value;
  }
  return vms;
}

std::string XcpngHypervisor::apply(const std::string& uuid, const std::string& device_args) {
  // other-config survives reboots and migration; the vgpu qemu wrapper shim reads this key when
  // the VM's device model starts (docs/hypervisors.md).
  xe({"vm-param-set", "uuid=" + uuid, "other-config:vgpu-stub-args=" + device_args});
  return "xe: set other-config:vgpu-stub-args on VM " + uuid + " (applies at its next start)";
}

}  // namespace vgpu::admin
