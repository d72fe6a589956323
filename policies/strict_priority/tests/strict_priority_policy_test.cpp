#include "strict_priority_policy.hpp"

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

std::vector<sdk::JobId> drain(sdk::Policy& p) {
  std::vector<sdk::JobId> order;
  while (auto j = p.dispatch({})) order.push_back(j->id);
  return order;
}
}  // namespace

TEST(StrictPriority, HighThenMediumThenLowWithinAPool) {
  policies::StrictPriorityPolicy p;
  p.enqueue(job(1, 0));
  p.enqueue(job(2, 1));
  p.enqueue(job(3, 2));
  p.enqueue(job(4, 0));
  p.enqueue(job(5, 2));
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{3, 5, 2, 1, 4}));
}

TEST(StrictPriority, FifoWithinAPriority) {
  policies::StrictPriorityPolicy p;
  for (sdk::JobId id = 1; id <= 6; ++id) p.enqueue(job(id, 1));
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{1, 2, 3, 4, 5, 6}));
}

TEST(StrictPriority, PoolsTakeTurns) {
  policies::StrictPriorityPolicy p;
  // Pool A has only high work, pool B only low: B still gets every other turn.
  p.enqueue(job(1, 2, "A"));
  p.enqueue(job(2, 2, "A"));
  p.enqueue(job(3, 2, "A"));
  p.enqueue(job(4, 0, "B"));
  p.enqueue(job(5, 0, "B"));
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{1, 4, 2, 5, 3}));
}

TEST(StrictPriority, IdlePoolIsSkipped) {
  policies::StrictPriorityPolicy p;
  p.enqueue(job(1, 1, "A"));
  p.enqueue(job(2, 1, "B"));
  EXPECT_EQ(p.dispatch({})->id, 1u);
  EXPECT_EQ(p.dispatch({})->id, 2u);
  p.enqueue(job(3, 1, "A"));
  p.enqueue(job(4, 1, "A"));
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{3, 4})) << "B is empty, A keeps the executor";
}

TEST(StrictPriority, CancelAndPending) {
  policies::StrictPriorityPolicy p;
  p.enqueue(job(1, 2, "A"));
  p.enqueue(job(2, 0, "B"));
  p.enqueue(job(3, 1, "A"));
  EXPECT_EQ(p.pending(), 3u);
  EXPECT_EQ(p.cancel(1)->id, 1u);
  EXPECT_EQ(p.cancel(1), nullptr);
  EXPECT_EQ(p.cancel(99), nullptr);
  EXPECT_EQ(p.pending(), 2u);
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{3, 2}));
  EXPECT_EQ(p.pending(), 0u);
}

TEST(StrictPriority, OutOfRangePriorityIsClamped) {
  policies::StrictPriorityPolicy p;
  p.enqueue(job(1, -4));
  p.enqueue(job(2, 9));
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{2, 1}));
}

TEST(StrictPriorityAging, OffByDefaultLowWaitsForever) {
  policies::StrictPriorityPolicy p;
  auto old = job(1, 0);
  old->enqueued_at = sdk::Clock::now() - std::chrono::hours(1);
  p.enqueue(old);
  p.enqueue(job(2, 1));
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{2, 1}));
}

TEST(StrictPriorityAging, AgedJobCompetesOneLevelHigher) {
  sdk::Clock::time_point now = sdk::Clock::now();
  policies::StrictPriorityPolicy p(std::chrono::milliseconds(100), [&] { return now; });
  auto low = job(1, 0);
  low->enqueued_at = now - std::chrono::milliseconds(150);  // aged: now counts as medium
  auto medium = job(2, 1);
  medium->enqueued_at = now - std::chrono::milliseconds(10);
  auto high = job(3, 2);
  high->enqueued_at = now;
  p.enqueue(low);
  p.enqueue(medium);
  p.enqueue(high);
  // high first (the aged low job is only medium), then the aged low job, older than medium.
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{3, 1, 2}));
}

TEST(StrictPriorityAging, YoungLowJobStillWaits) {
  sdk::Clock::time_point now = sdk::Clock::now();
  policies::StrictPriorityPolicy p(std::chrono::milliseconds(100), [&] { return now; });
  auto low = job(1, 0);
  low->enqueued_at = now - std::chrono::milliseconds(50);
  auto medium = job(2, 1);
  medium->enqueued_at = now;
  p.enqueue(low);
  p.enqueue(medium);
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{2, 1}));
  EXPECT_EQ(p.stats()[0].value, 0);
}

TEST(StrictPriorityAging, TwoStepsMakeALowJobHigh) {
  sdk::Clock::time_point now = sdk::Clock::now();
  policies::StrictPriorityPolicy p(std::chrono::milliseconds(100), [&] { return now; });
  auto high = job(1, 2);
  high->enqueued_at = now - std::chrono::milliseconds(10);
  auto low = job(2, 0);
  low->enqueued_at = now - std::chrono::milliseconds(250);  // two steps: counts as high, older
  p.enqueue(high);
  p.enqueue(low);
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{2, 1}));
}

TEST(StrictPriority, ClosedLevelsAreSkippedAndKeepTheirJobs) {
  policies::StrictPriorityPolicy p;
  p.enqueue(job(1, 0));
  p.enqueue(job(2, 0, "B"));
  p.enqueue(job(3, 1, "B"));
  sdk::SlotInfo low_closed;
  low_closed.admits = {false, true, true};
  auto first = p.dispatch(low_closed);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, 3u) << "pool A has only low work, so pool B's medium job goes";
  EXPECT_EQ(p.dispatch(low_closed), nullptr);
  EXPECT_EQ(p.pending(), 2u);
  EXPECT_EQ(drain(p), (std::vector<sdk::JobId>{1, 2}));
}
