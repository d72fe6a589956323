// Large copies split across threads arrive whole and in place, whatever their size and
// alignment, copy after copy; a child after fork() copies alone.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <numeric>
#include <vector>

#include "parallel_copy.hpp"

namespace vgpu::guest::cuda {
namespace {

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 131 + seed + (i >> 12));
  return v;
}

TEST(ParallelCopy, EverySizeAndAlignmentArrivesWhole) {
  for (unsigned threads : {1u, 2u, 3u, 4u}) {
    ParallelCopy copier(threads);
    const std::size_t sizes[] = {0,
                                 1,
                                 63,
                                 4096,
                                 ParallelCopy::kSplitFrom - 1,
                                 ParallelCopy::kSplitFrom,
                                 ParallelCopy::kSplitFrom + 13,
                                 (std::size_t(10) << 20) + 7};
    for (std::size_t n : sizes)
      for (std::size_t offset : {0u, 1u, 61u}) {
        const auto source = pattern(n + offset, std::uint8_t(n + threads));
        std::vector<std::uint8_t> target(n + 2 * offset + 64, 0xee);
        copier.copy(target.data() + offset, source.data() + offset, n);
        ASSERT_TRUE(std::equal(source.begin() + offset, source.end(), target.begin() + offset))
            << threads << " threads, " << n << " bytes at offset " << offset;
        // Nothing outside the range is touched.
        for (std::size_t i = 0; i < offset; ++i) ASSERT_EQ(target[i], 0xee);
        for (std::size_t i = offset + n; i < target.size(); ++i) ASSERT_EQ(target[i], 0xee);
      }
  }
}

TEST(ParallelCopy, ManyCopiesInARowEachComplete) {
  ParallelCopy copier(3);
  const auto source = pattern(3 << 20, 5);
  std::vector<std::uint8_t> target(source.size());
  for (int round = 0; round < 200; ++round) {
    std::fill(target.begin(), target.end(), std::uint8_t(round));
    copier.copy(target.data(), source.data(), source.size());
    ASSERT_EQ(target, source) << "round " << round;
  }
}

TEST(ParallelCopy, AChildAfterForkCopiesAlone) {
  ParallelCopy copier(2);
  const auto source = pattern(4 << 20, 9);
  std::vector<std::uint8_t> target(source.size());
  copier.copy(target.data(), source.data(), source.size());  // the helpers start here
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::vector<std::uint8_t> mine(source.size());
    copier.copy(mine.data(), source.data(), source.size());  // would hang waiting for helpers
    ::_exit(mine == source ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace vgpu::guest::cuda
