// A session's view of its VM's shared memory: a real file mapped, and every range a guest names
// checked against it, sizes that would wrap included.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "guest_memory.hpp"

namespace vgpu::executors::cuda::remote {
namespace {

struct TempRegion {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("vgpu-guest-memory-" + std::to_string(::getpid()));
  explicit TempRegion(std::size_t bytes) {
    std::ofstream(path).close();
    std::filesystem::resize_file(path, bytes);
  }
  ~TempRegion() { std::filesystem::remove(path); }
};

TEST(GuestMemory, MapsTheRegionAndSharesItsBytesWithTheFile) {
  TempRegion file(1 << 16);
  auto memory = GuestMemory::map(file.path.string());
  ASSERT_EQ(memory->size(), 1u << 16);
  std::string why;
  std::uint8_t* p = memory->range(100, 4, why);
  ASSERT_NE(p, nullptr) << why;
  std::memcpy(p, "vgpu", 4);
  // A second mapping, as the guest's, sees what the session wrote.
  auto other = GuestMemory::map(file.path.string());
  EXPECT_EQ(std::memcmp(other->base() + 100, "vgpu", 4), 0);
}

TEST(GuestMemory, RangesOutsideTheRegionAreRefusedWithTheirNumbers) {
  TempRegion file(4096);
  auto memory = GuestMemory::map(file.path.string());
  std::string why;
  EXPECT_NE(memory->range(0, 4096, why), nullptr);
  EXPECT_NE(memory->range(4096, 0, why), nullptr) << "an empty range at the end is inside";
  EXPECT_EQ(memory->range(4095, 2, why), nullptr);
  EXPECT_NE(why.find("offset 4095, 2 bytes"), std::string::npos) << why;
  EXPECT_NE(why.find("4096 bytes"), std::string::npos) << why;
  EXPECT_EQ(memory->range(4097, 0, why), nullptr);
  EXPECT_EQ(memory->range(8, UINT64_MAX, why), nullptr) << "the size must not wrap";
  EXPECT_EQ(memory->range(UINT64_MAX, 2, why), nullptr) << "nor the offset";
}

TEST(GuestMemory, AMissingFileOrALinkIsAnErrorNamingIt) {
  try {
    GuestMemory::map("/nonexistent/vgpu/vm9");
    FAIL() << "a missing file was mapped";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vgpu/vm9"), std::string::npos) << e.what();
  }
  TempRegion file(4096);
  const auto link = file.path.string() + ".link";
  std::filesystem::create_symlink(file.path, link);
  EXPECT_THROW(GuestMemory::map(link), std::runtime_error) << "a link is not followed";
  std::filesystem::remove(link);
}

}  // namespace
}  // namespace vgpu::executors::cuda::remote
