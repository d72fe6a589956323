// libvirt / KVM through `virsh`. Domains come from `virsh list --all` (its table: Id, Name,
// State) and `virsh domuuid`; the device goes in through the domain XML's QEMU command-line
// passthrough (<qemu:commandline>, namespace http://libvirt.org/schemas/domain/qemu/1.0),
// written back with `virsh define`. The token is not in the XML (any read-only libvirt user can
// read that): it goes to a root-only state folder, and the domain names a runtime copy that the
// libvirt hook (hypervisor/libvirt/vgpu-hook) makes for QEMU's user when the domain starts and
// removes when it stops; QEMU reads it as a secret object (token-secret=).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "hypervisor_adapters.hpp"
#include "hypervisor_state.hpp"
#include "process.hpp"

namespace vgpu::admin {

namespace {

constexpr const char* kQemuNs = "http://libvirt.org/schemas/domain/qemu/1.0";

ProcessResult virsh(const std::vector<std::string>& args) {
  return run_tool<HypervisorError>("virsh", args, "is libvirt installed?");
}

std::string xml_attribute(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '\'')
      out += "&apos;";
    else if (c == '<')
      out += "&lt;";
    else
      out += c;
  }
  return out;
}

std::string qemu_args(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += "\n    <qemu:arg value='" + xml_attribute(a) + "'/>";
  return out;
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
  check_uuid_names_a_file(uuid);
  const auto state = state_folder("VGPU_LIBVIRT_STATE", "/var/lib/vgpu/libvirt");
  const char* run_env = std::getenv("VGPU_LIBVIRT_RUN");
  const std::filesystem::path run = run_env && *run_env ? run_env : "/run/vgpu/libvirt";
  const auto stored = state / (uuid + ".token");
  if (device.token) write_private_file(stored, *device.token);
  const bool has_token = std::filesystem::exists(stored);

  std::string xml = virsh({"dumpxml", "--inactive", uuid}).out;
  // Drop earlier vgpu arguments (the secret object and the device), then add ours to (or as)
  // <qemu:commandline>; other passthrough arguments stay.
  xml = std::regex_replace(
      xml,
      std::regex(
          R"(\s*<qemu:arg value='-object'/>\s*<qemu:arg value='secret,id=vgpu-token,[^']*'/>)"),
      "");
  xml = std::regex_replace(
      xml, std::regex(R"(\s*<qemu:arg value='-device'/>\s*<qemu:arg value='vgpu-stub,[^']*'/>)"),
      "");
  // libvirt gives its own devices explicit PCI addresses from the low slots up; ours, which it
  // does not know about, takes a fixed high slot on the root bus so that the two never collide
  // (without one, QEMU put it in slot 2 and libvirt's NIC could not start there).
  const std::string root_bus = xml.find("machine='pc-q35") != std::string::npos ||
                                       xml.find("machine='q35") != std::string::npos
                                   ? "pcie.0"
                                   : "pci.0";
  const std::string placed = device.args + ",bus=" + root_bus + ",addr=0x1e";
  std::vector<std::string> added;
  if (has_token)
    added = {"-object", "secret,id=vgpu-token,file=" + (run / (uuid + ".token")).string(),
             "-device", placed + ",token-secret=vgpu-token"};
  else
    added = {"-device", placed};
  const std::string args = qemu_args(added);
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
         (has_token ? " and its token from " + stored.string() +
                          " (root-only; the vgpu libvirt hook hands it to QEMU at each start)"
                    : "") +
         " (applies at its next start)";
}

}  // namespace vgpu::admin
