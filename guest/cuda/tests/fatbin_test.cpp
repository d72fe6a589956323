// Module images: the guest driver must find each format's length from its header alone.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "fatbin.hpp"

namespace vgpu::guest::cuda {
namespace {

std::vector<std::uint8_t> fatbin_with_body(std::uint64_t body) {
  std::vector<std::uint8_t> b(16 + body, 0xAB);
  const std::uint32_t magic = kFatbinMagic;
  const std::uint16_t version = 1, header = 16;
  std::memcpy(&b[0], &magic, 4);
  std::memcpy(&b[4], &version, 2);
  std::memcpy(&b[6], &header, 2);
  std::memcpy(&b[8], &body, 8);
  return b;
}

TEST(ModuleImage, FatbinLengthIsHeaderPlusBody) {
  const auto b = fatbin_with_body(100);
  std::string why;
  const auto image = module_image(b.data(), why);
  ASSERT_TRUE(image) << why;
  EXPECT_EQ(image->bytes.size(), 116u);
  EXPECT_STREQ(image->format, "fatbin");
}

TEST(ModuleImage, TheRuntimesWrapperLeadsToItsFatbin) {
  const auto b = fatbin_with_body(40);
  struct {
    std::uint32_t magic, version;
    const void* data;
    void* unused;
  } wrapper{kFatbinWrapperMagic, 1, b.data(), nullptr};
  std::string why;
  const auto image = module_image(&wrapper, why);
  ASSERT_TRUE(image) << why;
  EXPECT_EQ(image->bytes.data(), b.data());
  EXPECT_EQ(image->bytes.size(), 56u);
}

TEST(ModuleImage, AnImpossibleFatbinSizeIsRefused) {
  auto b = fatbin_with_body(0);
  const std::uint64_t huge = ~0ull;
  std::memcpy(&b[8], &huge, 8);
  std::string why;
  EXPECT_FALSE(module_image(b.data(), why));
  EXPECT_NE(why.find("fatbin"), std::string::npos) << why;
}

TEST(ModuleImage, CubinEndsWithItsLastHeaderTable) {
  std::vector<std::uint8_t> elf(0x200, 0);
  std::memcpy(elf.data(),
              "\x7f"
              "ELF",
              4);
  elf[4] = 2;
  const std::uint64_t phoff = 0x40, shoff = 0x100;
  const std::uint16_t phentsize = 56, phnum = 2, shentsize = 64, shnum = 3;
  std::memcpy(&elf[0x20], &phoff, 8);
  std::memcpy(&elf[0x28], &shoff, 8);
  std::memcpy(&elf[0x36], &phentsize, 2);
  std::memcpy(&elf[0x38], &phnum, 2);
  std::memcpy(&elf[0x3A], &shentsize, 2);
  std::memcpy(&elf[0x3C], &shnum, 2);
  std::string why;
  const auto image = module_image(elf.data(), why);
  ASSERT_TRUE(image) << why;
  EXPECT_EQ(image->bytes.size(), 0x100u + 3 * 64);
}

TEST(ModuleImage, PtxIsTextUpToItsTerminator) {
  const char ptx[] = ".version 8.0\n.target sm_90\n";
  std::string why;
  const auto image = module_image(ptx, why);
  ASSERT_TRUE(image) << why;
  EXPECT_EQ(image->bytes.size(), sizeof ptx);
  EXPECT_STREQ(image->format, "ptx");
}

TEST(ModuleImage, NoImageIsRefused) {
  std::string why;
  EXPECT_FALSE(module_image(nullptr, why));
}

}  // namespace
}  // namespace vgpu::guest::cuda
