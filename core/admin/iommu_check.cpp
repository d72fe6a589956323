#include "iommu_check.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include "process.hpp"

namespace vgpu::admin {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

bool is_xen(const fs::path& root) {
  return read_file(root / "sys/hypervisor/type") == "xen" || fs::exists(root / "proc/xen");
}

std::string find_nvidia_gpu(const fs::path& root) {
  std::error_code ec;
  for (const auto& dev : fs::directory_iterator(root / "sys/bus/pci/devices", ec)) {
    const auto cls = read_file(dev.path() / "class");  // 0x030000 VGA, 0x030200 3D controller
    if (read_file(dev.path() / "vendor") == "0x10de" && cls.rfind("0x03", 0) == 0)
      return dev.path().filename().string();
  }
  return "";
}

}  // namespace

bool IommuReport::failed() const {
  for (const auto& l : lines)
    if (l.level == CheckLevel::fail) return true;
  return false;
}

const char* to_string(CheckLevel level) {
  switch (level) {
    case CheckLevel::pass:
      return "pass";
    case CheckLevel::warn:
      return "warn";
    case CheckLevel::fail:
      return "fail";
  }
  return "?";
}

IommuReport iommu_check(const fs::path& root, const std::string& gpu_bdf) {
  IommuReport report;
  auto add = [&](std::string name, CheckLevel level, std::string detail, std::string fix = "") {
    report.lines.push_back({std::move(name), level, std::move(detail), std::move(fix)});
  };
  const bool xen = is_xen(root);

  // 1. Asked for on the kernel command line (Xen: the hypervisor decides, see below).
  const std::string cmdline = read_file(root / "proc/cmdline");
  const std::regex on(R"((^|\s)(intel_iommu=on|amd_iommu=on|iommu=pt|iommu=on))");
  if (xen)
    add("kernel-cmdline", CheckLevel::pass,
        "Xen dom0: the IOMMU is the hypervisor's (see xen-iommu)");
  else if (std::regex_search(cmdline, on))
    add("kernel-cmdline", CheckLevel::pass, "IOMMU requested: " + cmdline);
  else
    add("kernel-cmdline", CheckLevel::warn, "no intel_iommu=on / amd_iommu=on / iommu=pt",
        "add intel_iommu=on (Intel) or amd_iommu=on (AMD) to GRUB_CMDLINE_LINUX, update-grub, "
        "reboot");

  // 2. The IOMMU hardware units the kernel brought up (DMAR on Intel, AMD-Vi on AMD).
  std::vector<std::string> units;
  std::error_code ec;
  for (const auto& u : fs::directory_iterator(root / "sys/class/iommu", ec))
    units.push_back(u.path().filename().string());
  if (xen) {
    auto info = run_process({"xl", "info"});
    if (info.exit_code != 0)
      add("xen-iommu", CheckLevel::fail, "`xl info` failed: " + info.err,
          "run as root in dom0; is the xen toolstack installed?");
    else if (info.out.find("hvm_directio") != std::string::npos)
      add("xen-iommu", CheckLevel::pass, "xl info: virt_caps has hvm_directio (IOMMU on)");
    else
      add("xen-iommu", CheckLevel::fail, "xl info: virt_caps lacks hvm_directio (IOMMU off)",
          "enable VT-d/AMD-Vi in the firmware and add iommu=1 to the Xen command line");
  } else if (!units.empty()) {
    std::string list;
    for (const auto& u : units) list += (list.empty() ? "" : ", ") + u;
    add("iommu-units", CheckLevel::pass, "active: " + list);
  } else {
    add("iommu-units", CheckLevel::fail, "no DMAR / AMD-Vi unit in /sys/class/iommu",
        "enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware, then the kernel option above");
  }

  // 3. IOMMU groups exist.
  std::size_t groups = 0;
  for ([[maybe_unused]] const auto& g :
       fs::directory_iterator(root / "sys/kernel/iommu_groups", ec))
    ++groups;
  if (groups)
    add("iommu-groups", CheckLevel::pass, std::to_string(groups) + " groups");
  else if (!xen)
    add("iommu-groups", CheckLevel::fail, "/sys/kernel/iommu_groups is empty",
        "the IOMMU is off: see the lines above");

  // 4. The GPU: its group and who shares it; 5. its driver.
  const std::string bdf = gpu_bdf.empty() ? find_nvidia_gpu(root) : gpu_bdf;
  const fs::path dev = root / "sys/bus/pci/devices" / bdf;
  if (bdf.empty() || !fs::exists(dev)) {
    add("gpu", CheckLevel::fail,
        bdf.empty() ? "no NVIDIA GPU found in /sys/bus/pci/devices"
                    : "no PCI device " + bdf + " in /sys/bus/pci/devices",
        "check `lspci -nn | grep -i nvidia`; pass --gpu BDF (e.g. 0000:3b:00.0)");
    return report;
  }
  add("gpu", CheckLevel::pass,
      bdf + " (vendor " + read_file(dev / "vendor") + ", device " + read_file(dev / "device") +
          ")");
  if (fs::is_symlink(dev / "iommu_group", ec)) {
    const auto group = fs::read_symlink(dev / "iommu_group").filename().string();
    std::vector<std::string> others;
    const std::string slot = bdf.substr(0, bdf.rfind('.'));
    for (const auto& d :
         fs::directory_iterator(root / "sys/kernel/iommu_groups" / group / "devices", ec)) {
      const auto name = d.path().filename().string();
      if (name != bdf) others.push_back(name);
    }
    bool foreign = false;
    std::string list;
    for (const auto& o : others) {
      list += (list.empty() ? "" : ", ") + o;
      foreign =
          foreign || o.substr(0, o.rfind('.')) != slot;  // functions of the same card are fine
    }
    if (others.empty())
      add("gpu-iommu-group", CheckLevel::pass, "group " + group + ", the GPU alone");
    else if (!foreign)
      add("gpu-iommu-group", CheckLevel::pass,
          "group " + group + " with its own functions: " + list);
    else
      add("gpu-iommu-group", CheckLevel::warn, "group " + group + " shared with " + list,
          "move the GPU to another slot, or enable ACS on the bridge; whatever shares the group "
          "goes to the same owner");
  } else if (!xen) {
    add("gpu-iommu-group", CheckLevel::fail, bdf + " has no iommu_group", "the IOMMU is off");
  }
  const std::string driver = fs::is_symlink(dev / "driver", ec)
                                 ? fs::read_symlink(dev / "driver").filename().string()
                                 : "";
  if (driver == "nvidia")
    add("gpu-driver", CheckLevel::pass, "nvidia (host driver: the mediator can use the GPU)");
  else if (driver == "vfio-pci")
    add("gpu-driver", CheckLevel::warn, "vfio-pci (reserved for passthrough to one VM)",
        "for the mediator, bind it to nvidia: echo " + bdf +
            " > /sys/bus/pci/drivers/vfio-pci/unbind; modprobe nvidia");
  else if (driver == "pciback" || driver == "xen-pciback")
    add("gpu-driver", CheckLevel::warn, driver + " (assignable to a Xen guest)",
        "for the mediator in dom0, remove it from xen-pciback.hide and load nvidia");
  else if (driver.empty())
    add("gpu-driver", CheckLevel::fail, "no driver bound", "install and load the NVIDIA driver");
  else
    add("gpu-driver", CheckLevel::warn, driver + " (not the NVIDIA driver)",
        "blacklist " + driver + " and load nvidia");
  return report;
}

}  // namespace vgpu::admin
