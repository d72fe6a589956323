#include "vgpu/sdk/fifo_queue.hpp"

#include <gtest/gtest.h>

#include "test_jobs.hpp"

using namespace vgpu::sdk;

using test_jobs::job_with_id;

TEST(FifoQueue, PopsInArrivalOrder) {
  FifoQueue q;
  for (JobId id = 1; id <= 5; ++id) q.push(job_with_id(id));
  EXPECT_EQ(q.size(), 5u);
  for (JobId id = 1; id <= 5; ++id) EXPECT_EQ(q.pop()->id, id);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

TEST(FifoQueue, RemoveFromMiddleFrontAndBack) {
  FifoQueue q;
  for (JobId id = 1; id <= 5; ++id) q.push(job_with_id(id));
  EXPECT_EQ(q.remove(3)->id, 3u);
  EXPECT_EQ(q.remove(1)->id, 1u);
  EXPECT_EQ(q.remove(5)->id, 5u);
  EXPECT_EQ(q.remove(3), nullptr) << "removed twice";
  EXPECT_FALSE(q.contains(3));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.front()->id, 2u);
  EXPECT_EQ(q.pop()->id, 2u);
  EXPECT_EQ(q.pop()->id, 4u);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(FifoQueue, InterleavedPushPopRemoveKeepsPositions) {
  FifoQueue q;
  JobId next = 1, expect = 1;
  for (int round = 0; round < 1000; ++round) {
    q.push(job_with_id(next++));
    q.push(job_with_id(next++));
    if (round % 3 == 0) {
      EXPECT_NE(q.remove(next - 1), nullptr);
    }
    auto j = q.pop();
    ASSERT_NE(j, nullptr);
    EXPECT_GE(j->id, expect);
    expect = j->id + 1;
  }
}
