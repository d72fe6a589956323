// The order of one session's batches (batch_order.hpp): a chained batch runs after its
// predecessor has begun, not at all after one that failed, and gives up on one that never comes.
#include "batch_order.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

using namespace vgpu::executors::cuda::remote;
using namespace std::chrono_literals;
using Turn = BatchOrder::Turn;

namespace {

TEST(BatchOrder, AChainedBatchWaitsUntilItsPredecessorHasBegun) {
  BatchOrder order;
  std::atomic<bool> predecessor_begun{false};
  // Batch 2's slot reached the session first: it waits for batch 1, which then begins.
  auto second = std::async(std::launch::async, [&] {
    const Turn turn = order.wait_for_predecessor(2, 60s);
    return std::make_pair(turn, predecessor_begun.load());
  });
  EXPECT_EQ(second.wait_for(50ms), std::future_status::timeout) << "batch 2 did not wait";
  predecessor_begun = true;
  EXPECT_EQ(order.begin(1, false), Turn::run);
  const auto [turn, saw_predecessor] = second.get();
  EXPECT_EQ(turn, Turn::run);
  EXPECT_TRUE(saw_predecessor);
  order.end(1, true);
  EXPECT_EQ(order.begin(2, true), Turn::run) << "its predecessor ran every call";
}

TEST(BatchOrder, APredecessorThatNeverComesIsGivenUpOnAfterTheGrace) {
  BatchOrder order;
  EXPECT_EQ(order.wait_for_predecessor(2, 20ms), Turn::predecessor_missing);
  // The first batch of a session has no predecessor to wait for.
  EXPECT_EQ(order.wait_for_predecessor(1, 0ms), Turn::run);
}

TEST(BatchOrder, NothingChainedToAFailedBatchRunsUntilTheGuestHasSeenTheFailure) {
  BatchOrder order;
  ASSERT_EQ(order.begin(1, false), Turn::run);
  order.end(1, false);  // a call of batch 1 failed
  EXPECT_EQ(order.begin(2, true), Turn::predecessor_failed);
  order.end(2, false);
  EXPECT_EQ(order.begin(3, true), Turn::predecessor_failed) << "the chain stays broken";
  order.end(3, false);
  // Batch 4 was sent after the guest read batch 3's answer: it runs whatever came before.
  EXPECT_EQ(order.begin(4, false), Turn::run);
  order.end(4, true);
  EXPECT_EQ(order.begin(5, true), Turn::run);
}

TEST(BatchOrder, ANumberAlreadyPassedDoesNotHoldTheBatch) {
  BatchOrder order;
  order.begin(7, false);
  order.end(7, true);
  // A confused guest reuses a number: only its own session could suffer, so it is let through.
  EXPECT_EQ(order.wait_for_predecessor(3, 0ms), Turn::run);
  EXPECT_EQ(order.begin(3, true), Turn::run);
}

}  // namespace
