#include "cpu_executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

using namespace vgpu;

TEST(CpuExecutor, RunsEveryJobExactlyOnceAcrossWorkers) {
  executors::CpuExecutor ex(3);
  EXPECT_EQ(ex.info().slots, 3u);
  constexpr int kJobs = 200;
  std::atomic<int> done{0};
  std::promise<void> all;
  for (int i = 0; i < kJobs; ++i) {
    auto job = std::make_shared<sdk::Job>();
    job->op = "noop";
    ex.execute(job, [&](sdk::JobResult r) {
      EXPECT_EQ(r.status, sdk::Status::ok);
      if (++done == kJobs) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ex.stop();
  EXPECT_EQ(done.load(), kJobs);
}

TEST(CpuExecutor, StopFinishesQueuedWork) {
  executors::CpuExecutor ex(1);
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i) {
    auto job = std::make_shared<sdk::Job>();
    job->op = "spin";
    job->params = {{"us", "2000"}};
    ex.execute(job, [&](sdk::JobResult r) {
      EXPECT_GE(r.usage.wall, std::chrono::milliseconds(2));
      ++done;
    });
  }
  ex.stop();
  EXPECT_EQ(done.load(), 5);
}
