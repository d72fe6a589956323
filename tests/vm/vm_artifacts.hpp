// Where the VM tests find QEMU (with vgpu-stub), the guest kernel and initramfs and the firmware.
// scripts/prepare-vm-tests.sh puts them into <build>/vm/; tests skip, naming the command that
// makes them, when they are not there.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vgpu::testing {

struct VmArtifacts {
  std::filesystem::path qemu;                        // qemu-system-x86_64 built with vgpu-stub
  std::filesystem::path kernel;                      // vmlinuz
  std::filesystem::path initramfs;                   // initramfs.gz
  std::vector<std::filesystem::path> firmware_dirs;  // each becomes a -L

  // Looks in $VGPU_VM_DIR, else <build>/vm. Returns why the VM tests cannot run, if they cannot.
  static VmArtifacts find();
  std::optional<std::string> missing() const;
  // Whether the guests may use KVM: only when scripts/prepare-vm-tests.sh booted this very
  // guest under KVM (it writes <vm dir>/accel). /dev/kvm can be there and still not boot a
  // guest in time (a nested hypervisor); then, and whenever the probe did not run, TCG is used.
  bool use_kvm() const;
  std::filesystem::path accel_file;  // <vm dir>/accel: "kvm" or "tcg"
};

}  // namespace vgpu::testing
