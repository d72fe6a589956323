// One test guest: the Debian kernel and busybox initramfs from qemu-stub/make-guest-image.sh,
// booted by the vgpu-stub QEMU with the devices a test asks for. The guest's init runs
// `script` (passed base64 on the kernel command line) and powers off; the console says
// VGPU-GUEST-READY before the script and VGPU-GUEST-EXIT <status> after it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qemu_process.hpp"
#include "vm_artifacts.hpp"

namespace vgpu::testing {

struct GuestShare {
  std::filesystem::path host_dir;
  std::string tag;  // the guest mounts it with: mount -t 9p -o trans=virtio <tag> <dir>
};

struct GuestOptions {
  std::string name;
  std::optional<std::string> device;  // the -device value, e.g. "vgpu-stub,pool_id=A,..."
  bool network = false;               // slirp: the guest is 10.0.2.15, the host 10.0.2.2
  std::vector<GuestShare> shares;
  std::string script;
  // The VM's shared memory with the mediator: this file (of `shared_memory_size`, a power of
  // two) becomes the device's BAR2 (memdev=).
  std::optional<std::filesystem::path> shared_memory;
  std::string shared_memory_size = "16M";
};

struct GuestRun {
  bool finished = false;  // powered off by itself within the limit
  std::optional<int> script_status;
  std::string output;   // what the script printed (between the markers)
  std::string console;  // everything: QEMU's messages, the kernel's, the script's
};

class GuestVm {
 public:
  GuestVm(const VmArtifacts& artifacts, GuestOptions options,
          const std::filesystem::path& work_dir);

  // Waits for the guest to power off (or kills it after `limit`) and returns what it printed.
  GuestRun finish(std::chrono::seconds limit);
  bool console_contains(const std::string& text) const;
  const std::string& name() const { return options_.name; }

 private:
  GuestOptions options_;
  std::unique_ptr<QemuProcess> qemu_;
};

// The shell line that mounts a 9p share in the guest.
std::string mount_share(const std::string& tag, const std::string& guest_dir);

}  // namespace vgpu::testing
