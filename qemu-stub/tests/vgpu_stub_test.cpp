// The vgpu-stub device model in a real QEMU under qtest: PCI identity, BAR0 size and contents
// (decoded by the guest client's own decoder), read-only registers, and the refusal of bad
// properties. Skips, naming the command that builds QEMU, when the vgpu QEMU is not built.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <vector>

#include "device.hpp"
#include "qtest_machine.hpp"
#include "vgpu/stub_registers.h"

namespace vgpu::testing {
namespace {

constexpr std::uint64_t kBarAddress = 0xfe000000;  // free MMIO space on the pc machine
const std::string kToken = "0123456789abcdef0123456789abcdef";

class VgpuStubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    artifacts_ = VmArtifacts::find();
    if (auto why = artifacts_.missing()) GTEST_SKIP() << *why;
    dir_ =
        std::filesystem::temp_directory_path() / ("vgpu-stub-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  // Starts QEMU with the device, finds it on bus 0 and maps BAR0 at kBarAddress.
  std::pair<std::unique_ptr<QtestMachine>, PciFunction> start(
      const std::string& device, const std::vector<std::string>& extra = {}) {
    auto m = std::make_unique<QtestMachine>(artifacts_, device, dir_ / "qemu.log", extra);
    auto f = m->find(VGPU_STUB_VENDOR_ID, VGPU_STUB_DEVICE_ID);
    if (!f) throw std::runtime_error("vgpu-stub is not on PCI bus 0");
    m->config_write(*f, 0x10, static_cast<std::uint32_t>(kBarAddress));
    m->config_write16(*f, 0x04, 0x0002);  // command register: memory space on
    return {std::move(m), *f};
  }

  guest::DeviceIdentity decode(QtestMachine& m) {
    std::array<std::uint8_t, 0x50> bar{};
    for (std::size_t i = 0; i < bar.size(); i += 4) {
      const auto w = m.readl(kBarAddress + i);
      for (int b = 0; b < 4; ++b) bar[i + b] = static_cast<std::uint8_t>(w >> (8 * b));
    }
    return guest::decode_bar0(bar.data(), bar.size());
  }

  // Starts QEMU expecting it to refuse; returns what it printed.
  std::string refusal(const std::string& device, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"-machine", "pc",   "-accel",     "qtest",
                                     "-display", "none", "-nodefaults"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-device", device});
    for (const auto& fw : artifacts_.firmware_dirs) args.insert(args.end(), {"-L", fw.string()});
    QemuProcess qemu(artifacts_.qemu, args, dir_ / "refused.log");
    if (!qemu.wait(std::chrono::seconds(20))) return "QEMU started (no refusal)";
    EXPECT_EQ(qemu.exit_code(), 1) << qemu.log();
    return qemu.log();
  }

  VmArtifacts artifacts_;
  std::filesystem::path dir_;
};

TEST_F(VgpuStubTest, PciIdentityIsTheExperimentalRangeAndClassOther) {
  auto [m, f] = start("vgpu-stub,pool_id=A,priority=low,vm_id=1");
  EXPECT_EQ(m->config_read(f, 0x00), VGPU_STUB_DEVICE_ID << 16 | VGPU_STUB_VENDOR_ID);
  // class 0xff (other), subclass 0, prog-if 0, revision 1
  EXPECT_EQ(m->config_read(f, 0x08), 0xff000001u);
}

TEST_F(VgpuStubTest, Bar0IsFourKibOfMemory) {
  auto [m, f] = start("vgpu-stub,pool_id=A,priority=low,vm_id=1");
  m->config_write(f, 0x10, 0xffffffff);
  EXPECT_EQ(m->config_read(f, 0x10), ~std::uint32_t(VGPU_STUB_BAR0_SIZE - 1))
      << "32-bit non-prefetchable memory BAR of 4 KiB";
}

TEST_F(VgpuStubTest, Bar0CarriesTheIdentityTheClientDecodes) {
  auto [m, f] = start("vgpu-stub,pool_id=research-2,priority=high,vm_id=42,token=" + kToken);
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_MAGIC), VGPU_STUB_MAGIC);
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_VERSION), VGPU_STUB_LAYOUT_VERSION);
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_POOL_ID), std::uint32_t('r'));
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_PRIORITY), 2u);
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_VM_ID), 42u);
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_FLAGS), VGPU_FLAG_HAS_TOKEN);
  const auto id = decode(*m);
  EXPECT_EQ(id.pool, "research-2");
  EXPECT_EQ(id.priority, 2u);
  EXPECT_EQ(id.vm_id, 42u);
  EXPECT_EQ(id.token, kToken);
}

TEST_F(VgpuStubTest, ByteReadsSeeTheLittleEndianLayout) {
  auto [m, f] = start("vgpu-stub,pool_id=B,priority=medium,vm_id=258");
  EXPECT_EQ(m->readb(kBarAddress + 0), 0x55);  // "UPGV" little-endian: 'U' first
  EXPECT_EQ(m->readb(kBarAddress + 3), 0x56);
  EXPECT_EQ(m->readb(kBarAddress + VGPU_REG_VM_ID), 0x02);
  EXPECT_EQ(m->readb(kBarAddress + VGPU_REG_VM_ID + 1), 0x01);
  EXPECT_EQ(m->readb(kBarAddress + VGPU_REG_POOL_ID), 'B');
}

TEST_F(VgpuStubTest, WritesAreIgnoredAndUnknownOffsetsReadZero) {
  auto [m, f] = start("vgpu-stub,pool_id=A,priority=medium,vm_id=7");
  m->writel(kBarAddress + VGPU_REG_VM_ID, 99);
  m->writel(kBarAddress + VGPU_REG_PRIORITY, 2);
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_VM_ID), 7u);
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_PRIORITY), 1u);
  EXPECT_EQ(m->readl(kBarAddress + 0x018), 0u);
  EXPECT_EQ(m->readl(kBarAddress + 0x100), 0u);
  EXPECT_EQ(m->readl(kBarAddress + VGPU_STUB_BAR0_SIZE - 4), 0u);
}

TEST_F(VgpuStubTest, WithoutATokenTheFlagIsClearAndTheTokenBytesAreZero) {
  auto [m, f] = start("vgpu-stub,pool_id=A,priority=low,vm_id=3");
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_FLAGS), 0u);
  for (unsigned i = 0; i < VGPU_TOKEN_BYTES; i += 4)
    EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_TOKEN + i), 0u);
  EXPECT_EQ(decode(*m).token, "");
}

TEST_F(VgpuStubTest, BadPropertiesStopQemuWithAMessageNamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"pool_id=A,priority=urgent,vm_id=1", "priority must be low, medium or high, not 'urgent'"},
      {"pool_id=A,vm_id=1", "property 'priority' is required"},
      {"pool_id=A,priority=low", "property 'vm_id' is required"},
      {"priority=low,vm_id=1", "property 'pool_id' is required"},
      {"pool_id=abcdefghijklmnopq,priority=low,vm_id=1", "at most 16 fit"},
      {"pool_id=A.B,priority=low,vm_id=1", "may hold only A-Z a-z 0-9 _ -"},
      {"pool_id=A,priority=low,vm_id=1,token=" + kToken + "0", "token must be 1 to 32 characters"},
      {"pool_id=A,priority=low,vm_id=seven", "vm_id"},
  };
  for (const auto& [props, message] : cases) {
    const auto out = refusal("vgpu-stub," + props);
    EXPECT_NE(out.find(message), std::string::npos) << props << " gave:\n" << out;
  }
}

// The token from a secret object's file: on no command line, yet in BAR0 as with `token=`.
TEST_F(VgpuStubTest, TheTokenCanComeFromASecretObjectInsteadOfTheCommandLine) {
  std::ofstream(dir_ / "token") << kToken;  // no newline: the file is the token
  auto [m, f] = start("vgpu-stub,pool_id=A,priority=low,vm_id=3,token-secret=tok",
                      {"-object", "secret,id=tok,file=" + (dir_ / "token").string()});
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_FLAGS), VGPU_FLAG_HAS_TOKEN);
  EXPECT_EQ(decode(*m).token, kToken);
}

TEST_F(VgpuStubTest, ABadTokenSecretStopsQemuWithTheReason) {
  const std::string base = "vgpu-stub,pool_id=A,priority=low,vm_id=3,";
  std::ofstream(dir_ / "token") << kToken;
  std::ofstream(dir_ / "token-nl") << kToken << "\n";
  const auto secret = [&](const std::string& file) {
    return std::vector<std::string>{"-object", "secret,id=tok,file=" + (dir_ / file).string()};
  };
  EXPECT_NE(refusal(base + "token-secret=tok,token=" + kToken, secret("token"))
                .find("give the token one way only: 'token', 'token-secret' or 'token-file'"),
            std::string::npos);
  EXPECT_NE(refusal(base + "token-secret=nope").find("vgpu-stub: token-secret 'nope': "),
            std::string::npos);
  EXPECT_NE(refusal(base + "token-secret=tok", secret("token-nl"))
                .find("token must be 1 to 32 characters, not 33"),
            std::string::npos)
      << "a newline after the token is refused, not silently kept";
}

// A plain file instead of a secret object: XCP-ng's QEMU is built without the secret object
// (its build configuration drops crypto/secret.o), so this is how its device gets the token.
TEST_F(VgpuStubTest, TheTokenCanComeFromAPlainFile) {
  std::ofstream(dir_ / "token") << kToken;
  auto [m, f] =
      start("vgpu-stub,pool_id=A,priority=low,vm_id=3,token-file=" + (dir_ / "token").string());
  EXPECT_EQ(m->readl(kBarAddress + VGPU_REG_FLAGS), VGPU_FLAG_HAS_TOKEN);
  EXPECT_EQ(decode(*m).token, kToken);
}

TEST_F(VgpuStubTest, ABadTokenFileStopsQemuWithTheReason) {
  const std::string base = "vgpu-stub,pool_id=A,priority=low,vm_id=3,token-file=";
  std::ofstream(dir_ / "token-nl") << kToken << "\n";
  std::ofstream(dir_ / "empty");
  std::filesystem::create_directory(dir_ / "folder");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"token-nl", "must hold the token alone, 1 to 32 bytes with no newline (it holds more)"},
      {"empty", "(it is empty)"},
      {"folder", "is not a regular file"},
      {"missing", "No such file or directory"},
  };
  for (const auto& [file, message] : cases) {
    const auto out = refusal(base + (dir_ / file).string());
    EXPECT_NE(out.find("vgpu-stub: token-file '" + (dir_ / file).string() + "'"), std::string::npos)
        << out;
    EXPECT_NE(out.find(message), std::string::npos) << file << " gave:\n" << out;
  }
  std::ofstream(dir_ / "token") << kToken;
  EXPECT_NE(refusal(base + (dir_ / "token").string() + ",token=" + kToken)
                .find("give the token one way only"),
            std::string::npos);
}

// The device registers a migration blocker that says why: -only-migratable turns it into a
// refusal to start, which shows the reason.
TEST_F(VgpuStubTest, MigrationIsRefusedWithTheReason) {
  const auto out = refusal("vgpu-stub,pool_id=A,priority=low,vm_id=3", {"-only-migratable"});
  EXPECT_NE(out.find("vgpu-stub: VM with vm_id 3 cannot migrate: its identity, token and shared "
                     "memory belong to this host's vgpu mediator"),
            std::string::npos)
      << out;
}

// BAR2 is the memory backend's file: what the host writes there the guest reads, and back.
TEST_F(VgpuStubTest, Bar2IsTheSharedMemoryTheHostSees) {
  const auto file = dir_ / "vm1.shm";
  {
    std::ofstream out(file, std::ios::binary);
    std::vector<char> bytes(1 << 20, 0);
    bytes[0] = 0x11, bytes[1] = 0x22, bytes[2] = 0x33, bytes[3] = 0x44;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  QtestMachine m(
      artifacts_, "vgpu-stub,pool_id=A,priority=low,vm_id=1,memdev=shm", dir_ / "qemu.log",
      {"-object", "memory-backend-file,id=shm,mem-path=" + file.string() + ",size=1M,share=on"});
  auto f = m.find(VGPU_STUB_VENDOR_ID, VGPU_STUB_DEVICE_ID);
  ASSERT_TRUE(f);
  m.config_write(*f, 0x18, 0xffffffff);
  m.config_write(*f, 0x1c, 0xffffffff);
  EXPECT_EQ(m.config_read(*f, 0x18), 0xfff0000cu) << "64-bit prefetchable memory BAR of 1 MiB";
  EXPECT_EQ(m.config_read(*f, 0x1c), 0xffffffffu);
  constexpr std::uint64_t kBar2 = 0xc0000000;
  m.config_write(*f, 0x18, static_cast<std::uint32_t>(kBar2));
  m.config_write(*f, 0x1c, 0);
  m.config_write16(*f, 0x04, 0x0002);
  EXPECT_EQ(m.readl(kBar2), 0x44332211u);
  m.writel(kBar2 + 4096, 0xcafef00du);
  std::ifstream in(file, std::ios::binary);
  in.seekg(4096);
  std::uint32_t seen = 0;
  in.read(reinterpret_cast<char*>(&seen), 4);
  EXPECT_EQ(seen, 0xcafef00du);
}

TEST_F(VgpuStubTest, SharedMemoryThatCannotBeSharedIsRefused) {
  const std::string device = "vgpu-stub,pool_id=A,priority=low,vm_id=1,memdev=shm";
  // A file of its own per case: QEMU refuses an existing file of another size before the device
  // is created.
  auto backend = [&](const std::string& name, const std::string& options) {
    return std::vector<std::string>{
        "-object", "memory-backend-file,id=shm,mem-path=" + (dir_ / name).string() + "," + options};
  };
  EXPECT_NE(
      refusal(device, backend("unshared", "size=1M,share=off")).find("memdev 'shm' needs share=on"),
      std::string::npos);
  EXPECT_NE(refusal(device, backend("odd", "size=3M,share=on")).find("is not a power of two"),
            std::string::npos);
}

}  // namespace
}  // namespace vgpu::testing
