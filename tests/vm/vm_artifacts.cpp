#include "vm_artifacts.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace vgpu::testing {

VmArtifacts VmArtifacts::find() {
  const char* env = std::getenv("VGPU_VM_DIR");
  const std::filesystem::path dir =
      env && *env ? std::filesystem::path(env) : std::filesystem::path(VGPU_BUILD_DIR) / "vm";
  VmArtifacts a;
  a.qemu = dir / "qemu-system-x86_64";
  a.kernel = dir / "vmlinuz";
  a.initramfs = dir / "initramfs.gz";
  a.accel_file = dir / "accel";
  // SeaBIOS (bios-256k.bin) and QEMU's option ROMs (linuxboot_dma.bin) from Debian's seabios and
  // qemu-system-data packages: Debian's QEMU source package carries no firmware blobs.
  a.firmware_dirs = {"/usr/share/qemu", "/usr/share/seabios"};
  return a;
}

std::optional<std::string> VmArtifacts::missing() const {
  const std::string how = "; run scripts/prepare-vm-tests.sh <build-dir> (or ./run.sh vm-test)";
  if (::access(qemu.c_str(), X_OK) != 0)
    return "no qemu-system-x86_64 with vgpu-stub at " + qemu.string() + how;
  for (const auto& f : {kernel, initramfs})
    if (!std::filesystem::exists(f)) return "no guest image file " + f.string() + how;
  if (!std::filesystem::exists("/usr/share/seabios/bios-256k.bin"))
    return std::string("no SeaBIOS (/usr/share/seabios/bios-256k.bin)") + how;
  return std::nullopt;
}

bool VmArtifacts::use_kvm() const {
  std::ifstream in(accel_file);
  std::string accel;
  in >> accel;
  if (accel != "kvm") return false;
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace vgpu::testing
