// The checks a remote session puts every guest-sent handle and pointer through.
#include <gtest/gtest.h>

#include "owned_objects.hpp"

namespace vgpu::executors::cuda::remote {
namespace {

TEST(OwnedMemory, RangeInsideOneAllocationPasses) {
  OwnedMemory m(8);
  m.add(0x1000, 256);
  EXPECT_EQ(m.check_range(0x1000, 256), "");
  EXPECT_EQ(m.check_range(0x10ff, 1), "");
  EXPECT_EQ(m.check_range(0x1080, 128), "");
}

TEST(OwnedMemory, RangesOutsideOrAcrossAllocationsAreRefused) {
  OwnedMemory m(8);
  m.add(0x1000, 256);
  m.add(0x1100, 256);  // adjacent: a range across both is still refused
  EXPECT_NE(m.check_range(0x0fff, 1), "");
  EXPECT_NE(m.check_range(0x1000, 257), "");
  EXPECT_NE(m.check_range(0x10ff, 2), "");
  EXPECT_NE(m.check_range(0x1200, 1), "");
  EXPECT_NE(m.check_range(0x1100, UINT64_MAX), "") << "the size must not wrap past the end";
  EXPECT_NE(m.check_range(UINT64_MAX, 2), "");
}

TEST(OwnedMemory, FreeOnlyAtAnAllocationsStart) {
  OwnedMemory m(8);
  m.add(0x1000, 256);
  EXPECT_FALSE(m.remove(0x1001));
  EXPECT_EQ(m.remove(0x1000), 256u);
  EXPECT_FALSE(m.remove(0x1000));
  EXPECT_NE(m.check_range(0x1000, 1), "") << "freed memory is no longer the session's";
}

TEST(OwnedMemory, CountsBytesAndLimit) {
  OwnedMemory m(2);
  m.add(0x1000, 100);
  EXPECT_FALSE(m.full());
  m.add(0x2000, 28);
  EXPECT_TRUE(m.full());
  EXPECT_EQ(m.total_bytes(), 128u);
  EXPECT_EQ(m.remove(0x1000), 100u);
  EXPECT_EQ(m.total_bytes(), 28u) << "a freed allocation no longer counts";
}

TEST(HandleTable, HandsOutNonZeroHandlesAndKnowsOnlyItsOwn) {
  HandleTable<int> t(2);
  const auto a = t.add(10), b = t.add(20);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, 0u);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(t.add(30)) << "over the limit";
  EXPECT_EQ(*t.find(*b), 20);
  EXPECT_EQ(t.find(*b + 100), nullptr);
  EXPECT_EQ(t.take(*a), 10);
  EXPECT_EQ(t.find(*a), nullptr);
  const auto c = t.add(40);
  ASSERT_TRUE(c);
  EXPECT_NE(*c, *a) << "a handle is never given out twice";
}

}  // namespace
}  // namespace vgpu::executors::cuda::remote
