#include "qtest_machine.hpp"

#include <cstdio>
#include <stdexcept>

namespace vgpu::testing {
namespace {

constexpr unsigned kConfigAddress = 0xcf8;  // PCI configuration mechanism #1
constexpr unsigned kConfigData = 0xcfc;

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::vector<std::string> qtest_args(const VmArtifacts& artifacts, const std::string& device,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> args = {
      "-machine", "pc",       "-accel", "qtest",       "-qtest",
      "stdio",    "-display", "none",   "-nodefaults", "-no-user-config"};
  for (const auto& dir : artifacts.firmware_dirs) args.insert(args.end(), {"-L", dir.string()});
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {"-device", device});
  return args;
}

std::uint32_t select(PciFunction f, unsigned offset) {
  return 0x80000000u | f.slot << 11 | (offset & 0xfc);
}

}  // namespace

QtestMachine::QtestMachine(const VmArtifacts& artifacts, const std::string& device,
                           const std::filesystem::path& log, const std::vector<std::string>& extra)
    : qemu_(artifacts.qemu, qtest_args(artifacts, device, extra), log, QemuProcess::Stdio::pipes) {}

std::string QtestMachine::command(const std::string& line) {
  auto reply = qemu_.exchange(line, std::chrono::seconds(10));
  if (reply.rfind("OK", 0) != 0)
    throw std::runtime_error("qtest '" + line + "' answered '" + reply + "'");
  return reply;
}

std::uint64_t QtestMachine::value_of(const std::string& line) {
  const auto reply = command(line);
  if (reply.size() < 4) throw std::runtime_error("qtest '" + line + "' returned no value");
  return std::stoull(reply.substr(3), nullptr, 16);
}

std::uint32_t QtestMachine::config_read(PciFunction f, unsigned offset) {
  command("outl " + hex(kConfigAddress) + " " + hex(select(f, offset)));
  return static_cast<std::uint32_t>(value_of("inl " + hex(kConfigData)));
}

void QtestMachine::config_write(PciFunction f, unsigned offset, std::uint32_t value) {
  command("outl " + hex(kConfigAddress) + " " + hex(select(f, offset)));
  command("outl " + hex(kConfigData) + " " + hex(value));
}

void QtestMachine::config_write16(PciFunction f, unsigned offset, std::uint16_t value) {
  command("outl " + hex(kConfigAddress) + " " + hex(select(f, offset)));
  command("outw " + hex(kConfigData + (offset & 2)) + " " + hex(value));
}

std::optional<PciFunction> QtestMachine::find(std::uint16_t vendor, std::uint16_t device) {
  for (unsigned slot = 0; slot < 32; ++slot) {
    const auto id = config_read({slot}, 0);
    if ((id & 0xffff) == vendor && (id >> 16) == device) return PciFunction{slot};
  }
  return std::nullopt;
}

std::uint32_t QtestMachine::readl(std::uint64_t address) {
  return static_cast<std::uint32_t>(value_of("readl " + hex(address)));
}
std::uint8_t QtestMachine::readb(std::uint64_t address) {
  return static_cast<std::uint8_t>(value_of("readb " + hex(address)));
}
void QtestMachine::writel(std::uint64_t address, std::uint32_t value) {
  command("writel " + hex(address) + " " + hex(value));
}

}  // namespace vgpu::testing
