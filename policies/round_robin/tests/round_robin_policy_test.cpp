#include "round_robin_policy.hpp"

#include <gtest/gtest.h>

using namespace vgpu;

namespace {
sdk::JobId next_id = 1;
sdk::JobPtr job(std::uint32_t vm, int priority, const char* pool = "A") {
  auto j = std::make_shared<sdk::Job>();
  j->id = next_id++;
  j->tenant = sdk::Tenant{vm, pool, priority, 1, 1};
  return j;
}
std::vector<std::uint32_t> vm_order(sdk::Policy& p) {
  std::vector<std::uint32_t> order;
  while (auto j = p.dispatch({})) order.push_back(j->tenant.vm_id);
  return order;
}
}  // namespace

TEST(RoundRobin, FloodingVmDoesNotStarveItsPeer) {
  policies::RoundRobinPolicy p;
  for (int i = 0; i < 6; ++i) p.enqueue(job(1, 1));  // VM 1 floods
  p.enqueue(job(2, 1));
  p.enqueue(job(2, 1));
  EXPECT_EQ(vm_order(p), (std::vector<std::uint32_t>{1, 2, 1, 2, 1, 1, 1, 1}));
}

TEST(RoundRobin, StrictPriorityBetweenLevels) {
  policies::RoundRobinPolicy p;
  p.enqueue(job(1, 0));
  p.enqueue(job(2, 2));
  p.enqueue(job(3, 1));
  p.enqueue(job(4, 2));
  EXPECT_EQ(vm_order(p), (std::vector<std::uint32_t>{2, 4, 3, 1}));
}

TEST(RoundRobin, FifoWithinOneVm) {
  policies::RoundRobinPolicy p;
  std::vector<sdk::JobId> ids;
  for (int i = 0; i < 4; ++i) {
    auto j = job(7, 1);
    ids.push_back(j->id);
    p.enqueue(j);
  }
  for (auto id : ids) EXPECT_EQ(p.dispatch({})->id, id);
}

TEST(RoundRobin, PoolsTakeTurns) {
  policies::RoundRobinPolicy p;
  p.enqueue(job(1, 2, "A"));
  p.enqueue(job(1, 2, "A"));
  p.enqueue(job(2, 0, "B"));
  EXPECT_EQ(vm_order(p), (std::vector<std::uint32_t>{1, 2, 1}));
}

TEST(RoundRobin, CancelledVmLeavesTheRing) {
  policies::RoundRobinPolicy p;
  auto a = job(1, 1);
  p.enqueue(a);
  p.enqueue(job(2, 1));
  EXPECT_EQ(p.cancel(a->id)->id, a->id);
  EXPECT_EQ(p.pending(), 1u);
  EXPECT_EQ(vm_order(p), (std::vector<std::uint32_t>{2}));
  p.enqueue(job(1, 1));  // VM 1 comes back after having been emptied
  EXPECT_EQ(vm_order(p), (std::vector<std::uint32_t>{1}));
}

TEST(RoundRobinAging, AgedLowJobGoesBeforeTheNextMediumTurn) {
  auto now = sdk::Clock::now();
  policies::RoundRobinPolicy p(std::chrono::milliseconds(100), [&] { return now; });
  auto low = job(9, 0);
  low->enqueued_at = now - std::chrono::milliseconds(150);  // one step: counts as medium
  p.enqueue(low);
  for (int i = 0; i < 3; ++i) {
    auto m = job(1, 1);
    m->enqueued_at = now;
    p.enqueue(m);
  }
  auto high = job(5, 2);
  high->enqueued_at = now;
  p.enqueue(high);
  EXPECT_EQ(vm_order(p), (std::vector<std::uint32_t>{5, 9, 1, 1, 1}));
  EXPECT_EQ(p.stats()[0].value, 1);
}

TEST(RoundRobinAging, TwoStepsMakeALowJobHigh) {
  auto now = sdk::Clock::now();
  policies::RoundRobinPolicy p(std::chrono::milliseconds(100), [&] { return now; });
  auto high = job(5, 2);
  high->enqueued_at = now - std::chrono::milliseconds(10);
  p.enqueue(high);
  auto low = job(9, 0);
  low->enqueued_at = now - std::chrono::milliseconds(250);
  p.enqueue(low);
  EXPECT_EQ(vm_order(p), (std::vector<std::uint32_t>{9, 5}));
}

TEST(RoundRobin, ClosedLevelsAreSkippedAndKeepTheirJobs) {
  policies::RoundRobinPolicy p;
  p.enqueue(job(1, 0));
  p.enqueue(job(2, 2));
  p.enqueue(job(3, 0));
  sdk::SlotInfo low_closed;
  low_closed.admits = {false, true, true};
  auto first = p.dispatch(low_closed);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->tenant.vm_id, 2u);
  EXPECT_EQ(p.dispatch(low_closed), nullptr);
  EXPECT_EQ(p.pending(), 2u);
  EXPECT_EQ(vm_order(p), (std::vector<std::uint32_t>{1, 3}));
}
