// Finds the vgpu-stub device through PCI sysfs and reads its BAR0 registers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace vgpu::guest {

struct DeviceIdentity {
  std::uint32_t vm_id = 0;
  std::uint32_t priority = 0;
  char pool_id = 0;
  std::string pool;
  std::string token;
  std::uint32_t flags = 0;
  std::string pci_address;
  // The device's BAR2, the VM's shared memory with the mediator, when QEMU gave it one
  // (memdev=): sysfs's resource2 file, which a client maps. Empty otherwise.
  std::string shared_memory_path;
};

class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Scans <sysfs_root>/bus/pci/devices/*/{vendor,device} for the stub's IDs and maps resource0.
// The root can point at a tree laid out like /sys, with resource0 a plain 4 KiB file.
DeviceIdentity read_device_identity(const std::filesystem::path& sysfs_root = "/sys");

// Decodes a BAR0 image; throws DeviceError for a wrong magic or layout version.
DeviceIdentity decode_bar0(const std::uint8_t* bar, std::size_t size);

}  // namespace vgpu::guest
