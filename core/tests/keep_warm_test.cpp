// When the scheduler sends warm-up jobs (keep_warm_us), on explicit times.
#include "keep_warm.hpp"

#include <gtest/gtest.h>

using namespace vgpu;
using namespace std::chrono_literals;
using core::KeepWarm;

namespace {

sdk::Job job_of(int priority, std::string pool = "A") {
  sdk::Job j;
  j.id = 7;
  j.tenant.vm_id = 3;
  j.tenant.pool = std::move(pool);
  j.tenant.priority = priority;
  return j;
}

const sdk::Clock::time_point t0 = sdk::Clock::time_point(100s);
constexpr auto kNever = sdk::Clock::time_point::max();

}  // namespace

TEST(KeepWarm, OnlyATopPriorityJobStartsWarming) {
  KeepWarm warm(1000us);
  EXPECT_EQ(warm.next_due(), kNever) << "nothing arrived yet";
  warm.job_arrived(job_of(0), t0);
  warm.job_arrived(job_of(1), t0);
  warm.dispatched(t0);
  EXPECT_EQ(warm.next_due(), kNever) << "low and medium jobs do not warm the path";
  EXPECT_EQ(warm.take_due(t0 + 5ms, true, true), nullptr);
  warm.job_arrived(job_of(2, "B"), t0);
  EXPECT_EQ(warm.next_due(), t0 + 1000us);
}

TEST(KeepWarm, TheWarmUpIsASmallSpinInTheTopJobsPoolChargedToNoVm) {
  KeepWarm warm(1000us);
  warm.job_arrived(job_of(2, "B"), t0);
  warm.dispatched(t0);
  EXPECT_EQ(warm.take_due(t0 + 999us, true, true), nullptr) << "not due yet";
  const auto job = warm.take_due(t0 + 1000us, true, true);
  ASSERT_NE(job, nullptr);
  EXPECT_GE(job->id, KeepWarm::kFirstId);
  EXPECT_EQ(job->tenant.vm_id, 0u);
  EXPECT_EQ(job->tenant.pool, "B");
  EXPECT_EQ(job->tenant.priority, 2);
  EXPECT_EQ(job->op, "spin");
  EXPECT_EQ(job->param("us"), "1");
  EXPECT_EQ(job->param("blocks"), "1");
  EXPECT_EQ(warm.sent(), 1u);
}

TEST(KeepWarm, OneAtATimeAndNeverWhileSomethingWaitsOrNoSlotIsFree) {
  KeepWarm warm(1000us);
  warm.job_arrived(job_of(2), t0);
  warm.dispatched(t0);
  EXPECT_EQ(warm.take_due(t0 + 2ms, false, true), nullptr) << "no free slot";
  EXPECT_EQ(warm.take_due(t0 + 2ms, true, false), nullptr) << "a job waits";
  const auto first = warm.take_due(t0 + 2ms, true, true);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(warm.next_due(), kNever) << "the first is still running";
  EXPECT_EQ(warm.take_due(t0 + 10ms, true, true), nullptr);
  EXPECT_EQ(warm.ended(sdk::Status::ok, ""), std::nullopt);
  EXPECT_EQ(warm.next_due(), t0 + 2ms + 1000us) << "an interval after the last dispatch";
  const auto second = warm.take_due(t0 + 3ms, true, true);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second->id, first->id);
}

TEST(KeepWarm, AVmsOwnJobsPostponeTheWarmUp) {
  KeepWarm warm(1000us);
  warm.job_arrived(job_of(2), t0);
  warm.dispatched(t0);
  warm.dispatched(t0 + 800us);  // a low VM's job went to the executor meanwhile
  EXPECT_EQ(warm.take_due(t0 + 1000us, true, true), nullptr);
  EXPECT_EQ(warm.next_due(), t0 + 1800us);
}

TEST(KeepWarm, WarmingStopsASecondAfterTheLastTopPriorityJob) {
  KeepWarm warm(1000us);
  warm.job_arrived(job_of(2), t0);
  warm.dispatched(t0 + KeepWarm::kKeepWarmFor - 1000us);
  EXPECT_EQ(warm.next_due(), t0 + KeepWarm::kKeepWarmFor) << "the last one, at the second's end";
  warm.dispatched(t0 + KeepWarm::kKeepWarmFor - 500us);
  EXPECT_EQ(warm.next_due(), kNever) << "past the second: the path is left to cool";
  warm.job_arrived(job_of(2), t0 + 5s);
  EXPECT_EQ(warm.next_due(), t0 + KeepWarm::kKeepWarmFor + 500us)
      << "a new top job warms again, due since an interval after the last dispatch";
}

TEST(KeepWarm, ARefusedWarmUpTurnsWarmingOffAndAFailedOneDoesNot) {
  KeepWarm warm(1000us);
  warm.job_arrived(job_of(2), t0);
  warm.dispatched(t0);
  ASSERT_NE(warm.take_due(t0 + 1ms, true, true), nullptr);
  EXPECT_EQ(warm.ended(sdk::Status::execution_error, "worker restarting"), std::nullopt);
  EXPECT_TRUE(warm.enabled());
  ASSERT_NE(warm.take_due(t0 + 2ms, true, true), nullptr);
  const auto why = warm.ended(sdk::Status::unknown_op, "unknown op 'spin'");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("unknown op 'spin'"), std::string::npos) << *why;
  EXPECT_FALSE(warm.enabled());
  EXPECT_EQ(warm.next_due(), kNever);
}

TEST(KeepWarm, AZeroIntervalNeverWarms) {
  KeepWarm warm(0us);
  warm.job_arrived(job_of(2), t0);
  EXPECT_FALSE(warm.enabled());
  EXPECT_EQ(warm.next_due(), kNever);
  EXPECT_EQ(warm.take_due(t0 + 1s, true, true), nullptr);
}
