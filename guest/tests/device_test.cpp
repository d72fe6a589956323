// Device discovery against a tree laid out like /sys, with resource0 a 4 KiB file shaped like
// the vgpu-stub BAR.
#include <gtest/gtest.h>

#include <fstream>

#include "device.hpp"
#include "vgpu/guest.h"
#include "vgpu/stub_registers.h"

using namespace vgpu::guest;

namespace {

void put32(std::vector<std::uint8_t>& bar, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bar[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::vector<std::uint8_t> bar(std::uint32_t vm_id, char pool, std::uint32_t prio,
                              const std::string& token, const std::string& pool_name) {
  std::vector<std::uint8_t> b(VGPU_STUB_BAR0_SIZE, 0);
  put32(b, VGPU_REG_MAGIC, VGPU_STUB_MAGIC);
  put32(b, VGPU_REG_VERSION, 1);
  put32(b, VGPU_REG_POOL_ID, static_cast<std::uint8_t>(pool));
  put32(b, VGPU_REG_PRIORITY, prio);
  put32(b, VGPU_REG_VM_ID, vm_id);
  std::copy(token.begin(), token.end(), b.begin() + VGPU_REG_TOKEN);
  std::copy(pool_name.begin(), pool_name.end(), b.begin() + VGPU_REG_POOL_NAME);
  return b;
}

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("vgpu-sysfs-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    add_device("0000:00:01.0", "0x8086", "0x7000", {});  // an unrelated device first
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void add_device(const std::string& bdf, const std::string& vendor, const std::string& device,
                  const std::vector<std::uint8_t>& resource) {
    auto dir = root_ / "bus/pci/devices" / bdf;
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "vendor") << vendor << "\n";
    std::ofstream(dir / "device") << device << "\n";
    std::ofstream out(dir / "resource0", std::ios::binary);
    out.write(reinterpret_cast<const char*>(resource.data()), resource.size());
  }

  std::filesystem::path root_;
};

}  // namespace

TEST_F(FakeSysfs, FindsTheStubAndReadsEveryRegister) {
  add_device("0000:00:04.0", "0x1af4", "0x10f6",
             bar(42, 'B', 2, "0123456789abcdef0123456789abcdef", "B"));
  auto id = read_device_identity(root_);
  EXPECT_EQ(id.vm_id, 42u);
  EXPECT_EQ(id.priority, 2u);
  EXPECT_EQ(id.pool_id, 'B');
  EXPECT_EQ(id.pool, "B");
  EXPECT_EQ(id.token, "0123456789abcdef0123456789abcdef") << "a full 32-byte token, no NUL";
  EXPECT_EQ(id.pci_address, "0000:00:04.0");
}

TEST_F(FakeSysfs, PoolNameFallsBackToPoolIdLetter) {
  add_device("0000:00:05.0", "0x1af4", "0x10f6", bar(3, 'A', 0, "", ""));
  auto id = read_device_identity(root_);
  EXPECT_EQ(id.pool, "A");
  EXPECT_TRUE(id.token.empty());
}

TEST_F(FakeSysfs, NoDeviceIsAClearError) {
  try {
    read_device_identity(root_);
    FAIL();
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("no vgpu-stub device"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_device_identity(root_ / "missing"), DeviceError);
}

TEST_F(FakeSysfs, WrongMagicOrVersionIsRefused) {
  auto b = bar(1, 'A', 1, "", "A");
  b[0] = 0;
  add_device("0000:00:06.0", "0x1af4", "0x10f6", b);
  EXPECT_THROW(read_device_identity(root_), DeviceError);
  auto v2 = bar(1, 'A', 1, "", "A");
  put32(v2, VGPU_REG_VERSION, 2);
  try {
    decode_bar0(v2.data(), v2.size());
    FAIL();
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("layout 2"), std::string::npos);
  }
}

TEST_F(FakeSysfs, CApiReadsTheSameIdentity) {
  add_device("0000:00:07.0", "0x1af4", "0x10f6", bar(9, 'A', 1, "tok", "A"));
  vgpu_identity id{};
  char err[256] = "";
  ASSERT_EQ(vgpu_read_identity(root_.c_str(), &id, err, sizeof err), 0) << err;
  EXPECT_EQ(id.vm_id, 9u);
  EXPECT_STREQ(id.pool, "A");
  EXPECT_STREQ(id.token, "tok");
  std::filesystem::remove_all(root_ / "bus");
  EXPECT_NE(vgpu_read_identity(root_.c_str(), &id, err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("no vgpu-stub device"), std::string::npos);
}
