// A QEMU started with -accel qtest: no guest code runs; the test reads and writes PCI config
// space and guest memory through QEMU's qtest text protocol on stdin/stdout
// (docs/devel/qtest.rst: "outl ADDR VAL", "inl ADDR", "readl ADDR", ... answered "OK [value]").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "qemu_process.hpp"
#include "vm_artifacts.hpp"

namespace vgpu::testing {

struct PciFunction {
  unsigned slot = 0;  // on bus 0, function 0
};

class QtestMachine {
 public:
  // `extra`: more QEMU arguments before the device (e.g. the -object its memdev names).
  QtestMachine(const VmArtifacts& artifacts, const std::string& device,
               const std::filesystem::path& log, const std::vector<std::string>& extra = {});

  std::uint32_t config_read(PciFunction f, unsigned offset);
  void config_write(PciFunction f, unsigned offset, std::uint32_t value);
  void config_write16(PciFunction f, unsigned offset, std::uint16_t value);
  std::optional<PciFunction> find(std::uint16_t vendor, std::uint16_t device);

  std::uint32_t readl(std::uint64_t address);
  std::uint8_t readb(std::uint64_t address);
  void writel(std::uint64_t address, std::uint32_t value);

 private:
  std::string command(const std::string& line);
  std::uint64_t value_of(const std::string& line);

  QemuProcess qemu_;
};

}  // namespace vgpu::testing
