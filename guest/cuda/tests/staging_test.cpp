// Programs of one VM share its region: each claims a slot of its own, a slot is free again when
// its program lets go, and a slot never reaches into the rings at the region's end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "staging.hpp"

namespace vgpu::guest::cuda {
namespace {

constexpr std::size_t kMiB = std::size_t(1) << 20;

struct LockDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("vgpu-staging-test-" + std::to_string(::getpid()));
  LockDir() { std::filesystem::create_directories(path); }
  ~LockDir() { std::filesystem::remove_all(path); }
};

TEST(Staging, ProgramsOfOneVmGetDifferentSlotsUntilNoneIsLeft) {
  LockDir dir;
  std::string why;
  // 100 MiB less a 128 KiB tail: three slots of 32 MiB.
  auto a = StagingSlot::claim(dir.path, 7, 100 * kMiB, 128 << 10, 32 * kMiB, why);
  auto b = StagingSlot::claim(dir.path, 7, 100 * kMiB, 128 << 10, 32 * kMiB, why);
  auto c = StagingSlot::claim(dir.path, 7, 100 * kMiB, 128 << 10, 32 * kMiB, why);
  ASSERT_TRUE(a && b && c) << why;
  EXPECT_EQ(a->index(), 0u);
  EXPECT_EQ(b->index(), 1u);
  EXPECT_EQ(c->index(), 2u);
  EXPECT_FALSE(StagingSlot::claim(dir.path, 7, 100 * kMiB, 128 << 10, 32 * kMiB, why));
  EXPECT_NE(why.find("all 3 slots"), std::string::npos) << why;
  // Another VM's slots are its own.
  EXPECT_TRUE(StagingSlot::claim(dir.path, 8, 100 * kMiB, 128 << 10, 32 * kMiB, why)) << why;
  // A program that ends frees its slot.
  b.reset();
  auto again = StagingSlot::claim(dir.path, 7, 100 * kMiB, 128 << 10, 32 * kMiB, why);
  ASSERT_TRUE(again) << why;
  EXPECT_EQ(again->index(), 1u);
}

TEST(Staging, SlotsStayClearOfEachOtherAndOfTheTail) {
  LockDir dir;
  std::string why;
  const std::size_t region = 64 * kMiB, tail = 131456;
  std::vector<StagingSlot> slots;
  while (auto s = StagingSlot::claim(dir.path, 1, region, tail, 16 * kMiB, why))
    slots.push_back(std::move(*s));
  ASSERT_EQ(slots.size(), 3u) << "64 MiB less the tail holds three 16 MiB slots";
  std::size_t end_of_previous = 0;
  for (const auto& s : slots) {
    const auto& l = s.layout();
    // The places of the two batches in flight and their answers, one after the other.
    EXPECT_GE(l.batch_offset[0], end_of_previous);
    EXPECT_EQ(l.answer_offset[0], l.batch_offset[0] + l.batch_bytes);
    EXPECT_EQ(l.batch_offset[1], l.answer_offset[0] + l.answer_bytes);
    EXPECT_EQ(l.answer_offset[1], l.batch_offset[1] + l.batch_bytes);
    EXPECT_EQ(l.half_offset[0], l.answer_offset[1] + l.answer_bytes);
    EXPECT_EQ(l.half_offset[1], l.half_offset[0] + l.half_bytes);
    EXPECT_GE(l.half_bytes, kStagingMinHalfBytes);
    EXPECT_EQ(l.half_offset[0] % 4096, 0u);
    end_of_previous = l.half_offset[1] + l.half_bytes;
    EXPECT_LE(end_of_previous, region - tail);
  }
}

TEST(Staging, ARegionTooSmallForASlotSaysSo) {
  LockDir dir;
  std::string why;
  EXPECT_FALSE(StagingSlot::claim(dir.path, 1, 4 * kMiB, 131456, 32 * kMiB, why));
  EXPECT_NE(why.find("holds no slot"), std::string::npos) << why;
  EXPECT_FALSE(StagingSlot::claim(dir.path, 1, 64 * kMiB, 0, 4 * kMiB, why))
      << "a slot must have room for the messages and two halves";
  EXPECT_TRUE(
      StagingSlot::claim(dir.path, 1, 64 * kMiB, 0, 4 * kMiB + 2 * kStagingMinHalfBytes, why))
      << why;
}

}  // namespace
}  // namespace vgpu::guest::cuda
