// sdk::WorkerPool: every job's done() exactly once, with and without spinning workers, and no job
// stranded when a spinning worker gives up and sleeps just as the job arrives.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <random>
#include <thread>

#include "vgpu/sdk/worker_pool.hpp"

#include "test_jobs.hpp"

using namespace vgpu::sdk;
using namespace std::chrono_literals;

namespace {

using test_jobs::job_with_id;

// Runs each job by calling done() with the job's id in the message.
WorkerPool::Handler echo_id() {
  return [](unsigned, JobPtr job, DoneCallback done) {
    JobResult r;
    r.message = std::to_string(job->id);
    done(std::move(r));
  };
}

class WorkerPoolSpin : public ::testing::TestWithParam<std::chrono::microseconds> {};

TEST_P(WorkerPoolSpin, EveryJobFromManyThreadsIsDoneExactlyOnce) {
  constexpr int kThreads = 3, kPerThread = 500;
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  {
    WorkerPool pool(4, echo_id(), GetParam());
    std::vector<std::thread> submitters;
    for (int t = 0; t < kThreads; ++t)
      submitters.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const int id = t * kPerThread + i;
          pool.submit(job_with_id(id), [&calls, id](JobResult r) {
            EXPECT_EQ(r.message, std::to_string(id));
            ++calls[id];
          });
        }
      });
    for (auto& t : submitters) t.join();
  }  // stop(): queued jobs are finished first
  for (std::size_t id = 0; id < calls.size(); ++id) ASSERT_EQ(calls[id].load(), 1) << "job " << id;
}

TEST_P(WorkerPoolSpin, AJobArrivingAtAnyMomentOfTheSpinIsNeverStranded) {
  // Submissions land before, around and after the moment the spinning worker gives up and goes
  // to sleep; a lost wake-up would leave a job waiting forever.
  WorkerPool pool(1, echo_id(), GetParam());
  std::mt19937 random(7);
  std::uniform_int_distribution<int> pause_us(0, 3 * std::max<int>(1, GetParam().count()));
  for (int i = 0; i < 300; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us(random)));
    std::promise<void> finished;
    pool.submit(job_with_id(i), [&](JobResult) { finished.set_value(); });
    ASSERT_EQ(finished.get_future().wait_for(10s), std::future_status::ready) << "job " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Sleeping, WorkerPoolSpin, ::testing::Values(0us));
INSTANTIATE_TEST_SUITE_P(Spinning, WorkerPoolSpin, ::testing::Values(200us));

TEST(WorkerPool, StopEndsASpinThatWouldLastAMinute) {
  auto pool = std::make_unique<WorkerPool>(2, echo_id(), std::chrono::microseconds(60s));
  std::promise<void> first;
  pool->submit(job_with_id(1), [&](JobResult) { first.set_value(); });
  first.get_future().wait();  // a worker is now spinning for the next job
  const auto before = std::chrono::steady_clock::now();
  pool->stop();
  // A generous bound, far below the minute a missed stop would take.
  EXPECT_LT(std::chrono::steady_clock::now() - before, 30s);
}

TEST(WorkerPool, JobsSubmittedWhileAWorkerSpinsAllRun) {
  std::atomic<int> done{0};
  WorkerPool pool(1, echo_id(), std::chrono::microseconds(60s));
  for (int i = 0; i < 50; ++i) {
    std::promise<void> finished;
    pool.submit(job_with_id(i), [&](JobResult) {
      ++done;
      finished.set_value();
    });
    ASSERT_EQ(finished.get_future().wait_for(10s), std::future_status::ready);
  }
  EXPECT_EQ(done.load(), 50);
}

TEST(WorkerPool, TwoJobsArrivingWhileOneWorkerSpinsRunSideBySide) {
  // Each job waits until both have started: they finish only if a second worker is woken for
  // the second job instead of it queueing behind the spinner's.
  WorkerPool pool(
      2,
      [](unsigned, JobPtr job, DoneCallback done) {
        auto* both = reinterpret_cast<std::latch*>(job->client_tag);
        both->arrive_and_wait();
        done(JobResult{});
      },
      std::chrono::microseconds(60s));
  for (int round = 0; round < 20; ++round) {
    std::latch both(2);
    std::promise<void> first, second;
    auto a = job_with_id(1), b = job_with_id(2);
    a->client_tag = b->client_tag = reinterpret_cast<std::uint64_t>(&both);
    pool.submit(a, [&](JobResult) { first.set_value(); });
    pool.submit(b, [&](JobResult) { second.set_value(); });
    ASSERT_EQ(first.get_future().wait_for(10s), std::future_status::ready) << "round " << round;
    ASSERT_EQ(second.get_future().wait_for(10s), std::future_status::ready) << "round " << round;
  }
}

TEST(WorkerPool, UnderLoadAnIdleWorkerTakesOverWatchingTheQueue) {
  // Jobs that hold their worker until released; `started` counts them in.
  std::atomic<int> started{0};
  std::promise<void> release;
  auto release_future = release.get_future().share();
  WorkerPool pool(
      3,
      [&](unsigned, JobPtr, DoneCallback done) {
        ++started;
        release_future.wait();
        done(JobResult{});
      },
      std::chrono::microseconds(60s));
  auto eventually = [&](auto pred) {
    for (int i = 0; i < 1000 && !pred(); ++i) std::this_thread::sleep_for(10ms);
    return pred();
  };
  ASSERT_TRUE(eventually([&] { return pool.spinning(); })) << "an idle worker watches the queue";
  // Let the two other workers reach their sleep: one still starting would watch the queue
  // because nobody does, whatever the load.
  std::this_thread::sleep_for(200ms);
  std::atomic<int> done{0};
  pool.submit(job_with_id(1), [&](JobResult) { ++done; });
  ASSERT_TRUE(eventually([&] { return started == 1; }));
  // An otherwise idle pool: the spinner took the job and nobody was woken to replace it.
  EXPECT_FALSE(pool.spinning());
  pool.submit(job_with_id(2), [&](JobResult) { ++done; });
  ASSERT_TRUE(eventually([&] { return started == 2; }));
  // Under load: the third worker was woken to watch while the other two run their jobs.
  EXPECT_TRUE(eventually([&] { return pool.spinning(); }));
  release.set_value();
  EXPECT_TRUE(eventually([&] { return done == 2; }));
}

TEST(WorkerPool, ALoneWorkerRunningAJobLeavesNobodySpinning) {
  std::promise<void> started, release;
  auto release_future = release.get_future().share();
  WorkerPool pool(
      1,
      [&](unsigned, JobPtr, DoneCallback done) {
        started.set_value();
        release_future.wait();
        done(JobResult{});
      },
      std::chrono::microseconds(60s));
  std::promise<void> done;
  pool.submit(job_with_id(1), [&](JobResult) { done.set_value(); });
  started.get_future().wait();
  EXPECT_FALSE(pool.spinning());
  release.set_value();
  done.get_future().wait();
}

}  // namespace
