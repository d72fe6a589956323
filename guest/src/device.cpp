#include "device.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "vgpu/stub_registers.h"

namespace vgpu::guest {
namespace {

std::uint32_t reg(const std::uint8_t* bar, std::size_t offset) {
  return std::uint32_t(bar[offset]) | std::uint32_t(bar[offset + 1]) << 8 |
         std::uint32_t(bar[offset + 2]) << 16 | std::uint32_t(bar[offset + 3]) << 24;
}

std::string fixed_string(const std::uint8_t* p, std::size_t n) {
  std::size_t len = 0;
  while (len < n && p[len] != 0) ++len;
  return std::string(reinterpret_cast<const char*>(p), len);
}

unsigned long read_hex_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text;
  in >> text;
  try {
    return std::stoul(text, nullptr, 16);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

DeviceIdentity decode_bar0(const std::uint8_t* bar, std::size_t size) {
  if (size < 0x50) throw DeviceError("vgpu-stub BAR0 is only " + std::to_string(size) + " bytes");
  if (reg(bar, VGPU_REG_MAGIC) != VGPU_STUB_MAGIC)
    throw DeviceError("vgpu-stub BAR0 has a wrong magic value: not a vgpu-stub device");
  const auto version = reg(bar, VGPU_REG_VERSION);
  if (version != VGPU_STUB_LAYOUT_VERSION)
    throw DeviceError("vgpu-stub register layout " + std::to_string(version) +
                      " is not supported (this client reads layout 1)");
  DeviceIdentity id;
  id.pool_id = static_cast<char>(reg(bar, VGPU_REG_POOL_ID) & 0xFF);
  id.priority = reg(bar, VGPU_REG_PRIORITY);
  id.vm_id = reg(bar, VGPU_REG_VM_ID);
  id.flags = reg(bar, VGPU_REG_FLAGS);
  id.token = fixed_string(bar + VGPU_REG_TOKEN, VGPU_TOKEN_BYTES);
  id.pool = fixed_string(bar + VGPU_REG_POOL_NAME, VGPU_POOL_NAME_BYTES);
  if (id.pool.empty() && id.pool_id) id.pool = std::string(1, id.pool_id);
  return id;
}

DeviceIdentity read_device_identity(const std::filesystem::path& sysfs_root) {
  const auto devices = sysfs_root / "bus" / "pci" / "devices";
  std::error_code ec;
  std::filesystem::directory_iterator it(devices, ec);
  if (ec)
    throw DeviceError("no vgpu-stub device: cannot list " + devices.string() + " (" + ec.message() +
                      ")");
  for (const auto& entry : it) {
    if (read_hex_file(entry.path() / "vendor") != VGPU_STUB_VENDOR_ID ||
        read_hex_file(entry.path() / "device") != VGPU_STUB_DEVICE_ID)
      continue;
    const auto resource = entry.path() / "resource0";
    const int fd = ::open(resource.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw DeviceError("vgpu-stub found at " + entry.path().filename().string() + " but " +
                        resource.string() + " cannot be opened: " + std::strerror(errno) +
                        " (run as root?)");
    void* map = ::mmap(nullptr, VGPU_STUB_BAR0_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED)
      throw DeviceError("cannot map " + resource.string() + ": " + std::strerror(errno));
    // Copy out first: MMIO wants aligned 32-bit reads, and the copy does them once.
    std::uint8_t bar[0x50];
    const auto* words = static_cast<const volatile std::uint32_t*>(map);
    for (std::size_t i = 0; i < sizeof bar / 4; ++i) {
      const std::uint32_t w = words[i];
      std::memcpy(bar + 4 * i, &w, 4);
    }
    ::munmap(map, VGPU_STUB_BAR0_SIZE);
    auto id = decode_bar0(bar, sizeof bar);
    id.pci_address = entry.path().filename().string();
    const auto bar2 = entry.path() / "resource2";
    if (std::filesystem::exists(bar2, ec) && std::filesystem::file_size(bar2, ec) > 0 && !ec)
      id.shared_memory_path = bar2.string();
    return id;
  }
  throw DeviceError("no vgpu-stub device (PCI " + std::string("1af4:10f6") + ") in " +
                    devices.string() + ": is the VM started with -device vgpu-stub?");
}

}  // namespace vgpu::guest
