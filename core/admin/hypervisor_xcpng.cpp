// XCP-ng / XenServer through `xe`. Record output parsed here is xe's default format, e.g.
//   uuid ( RO)           : 0e5b...
//        name-label ( RW): web-1
//       power-state ( RO): running
// (records separated by blank lines; see docs/hypervisors.md for the source of the format).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "hypervisor_adapters.hpp"
#include "hypervisor_state.hpp"
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

std::string XcpngHypervisor::apply(const std::string& uuid, const DeviceSpec& device) {
  check_uuid_names_a_file(uuid);
  const auto dir = state_folder("VGPU_XCPNG_STATE", "/var/lib/vgpu/xcpng");
  write_private_file(dir / (uuid + ".device"), device.args + "\n");
  if (device.token)
    write_private_file(dir / (uuid + ".token"), *device.token);  // no newline: QEMU reads it raw
  return "xcpng: wrote " + (dir / (uuid + ".device")).string() +
         (device.token ? " and its token (root-only)" : "") +
         "; the vgpu device-model wrapper adds the device at the VM's next start";
}

}  // namespace vgpu::admin
