// libvirt / KVM through `virsh`. Domains come from `virsh list --all` (its table: Id, Name,
// State) and `virsh domuuid`; the device goes in through the domain XML's QEMU command-line
// passthrough (<qemu:commandline>, namespace http://libvirt.org/schemas/domain/qemu/1.0),
// written back with `virsh define`.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "hypervisor_adapters.hpp"
#include "process.hpp"

namespace vgpu::admin {

namespace {

constexpr const char* kQemuNs = "http://libvirt.org/schemas/domain/qemu/1.0";

ProcessResult virsh(const std::vector<std::string>& args) {
  return run_tool<HypervisorError>("virsh", args, "is libvirt installed?");
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

std::vector<HypervisorVm> LibvirtHypervisor::list_vms() {
  auto table = virsh({"list", "--all"});
  std::vector<HypervisorVm> vms;
  std::istringstream lines(table.out);
  // " Id   Name     State"  /  "-------"  /  " 1    web-1    running"  /  " -    db-2     shut off"
  const std::regex row(R"(^\s*(\d+|-)\s+(\S+)\s+(.+?)\s*$)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, row) || m[2] == "Name") continue;
    vms.push_back({first_line(virsh({"domuuid", m[2]}).out), m[2], m[3]});
  }
  return vms;
}

std::string LibvirtHypervisor::apply(const std::string& uuid, const DeviceSpec& device) {
  const std::string device_args = device.with_token();
  std::string xml = virsh({"dumpxml", "--inactive", uuid}).out;
  // Drop an earlier vgpu-stub argument pair, then add ours to (or as) <qemu:commandline>.
  xml = std::regex_replace(
      xml, std::regex(R"(\s*<qemu:arg value='-device'/>\s*<qemu:arg value='vgpu-stub,[^']*'/>)"),
      "");
  const std::string args =
      "\n    <qemu:arg value='-device'/>\n    <qemu:arg value='" + device_args + "'/>";
  if (xml.find("<qemu:commandline>") != std::string::npos) {
    xml.replace(xml.find("<qemu:commandline>"), 18, "<qemu:commandline>" + args);
  } else {
    const auto end = xml.rfind("</domain>");
    if (end == std::string::npos)
      throw HypervisorError("virsh dumpxml gave no <domain> for " + uuid);
    xml.insert(end, "  <qemu:commandline>" + args + "\n  </qemu:commandline>\n");
  }
  if (xml.find(std::string("xmlns:qemu=")) == std::string::npos)
    xml.replace(xml.find("<domain") + 7, 0, std::string(" xmlns:qemu='") + kQemuNs + "'");
  const auto file = std::filesystem::temp_directory_path() /
                    ("vgpu-admin-" + std::to_string(::getpid()) + "-" + uuid + ".xml");
  std::ofstream(file) << xml;
  try {
    virsh({"define", file.string()});
  } catch (...) {
    std::filesystem::remove(file);
    throw;
  }
  std::filesystem::remove(file);
  return "virsh: redefined domain " + uuid + " with -device " + device.args +
         (device.token ? ",token=..." : "") + " (applies at its next start)";
}

}  // namespace vgpu::admin
