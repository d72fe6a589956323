#include "fifo_policy.hpp"

#include <gtest/gtest.h>

using namespace vgpu;

namespace {
sdk::JobPtr job(sdk::JobId id, int priority, const char* pool = "A") {
  auto j = std::make_shared<sdk::Job>();
  j->id = id;
  j->tenant.priority = priority;
  j->tenant.pool = pool;
  return j;
}
}  // namespace

TEST(FifoPolicy, ArrivalOrderIgnoresPriority) {
  policies::FifoPolicy p;
  p.enqueue(job(1, 0));
  p.enqueue(job(2, 2));
  p.enqueue(job(3, 1, "B"));
  EXPECT_EQ(p.pending(), 3u);
  EXPECT_EQ(p.dispatch({})->id, 1u);
  EXPECT_EQ(p.dispatch({})->id, 2u);
  EXPECT_EQ(p.dispatch({})->id, 3u);
  EXPECT_EQ(p.dispatch({}), nullptr);
}

TEST(FifoPolicy, CancelRemovesOnlyThatJob) {
  policies::FifoPolicy p;
  for (sdk::JobId id = 1; id <= 3; ++id) p.enqueue(job(id, 1));
  EXPECT_EQ(p.cancel(2)->id, 2u);
  EXPECT_EQ(p.cancel(2), nullptr);
  EXPECT_EQ(p.pending(), 2u);
  EXPECT_EQ(p.dispatch({})->id, 1u);
  EXPECT_EQ(p.dispatch({})->id, 3u);
  EXPECT_EQ(p.cancel(1), nullptr) << "a dispatched job cannot be cancelled";
}
