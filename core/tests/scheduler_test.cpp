// The scheduler with a real policy and the real CPU executor; results arrive on a recording
// channel.
#include "scheduler.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cpu_executor.hpp"
#include "fifo_policy.hpp"
#include "strict_priority_policy.hpp"

using namespace vgpu;
using namespace std::chrono_literals;

namespace {

struct NullLog : sdk::Logger {
  void log(sdk::LogLevel, std::string_view) override {}
};

class RecordingChannel : public sdk::ReplyChannel {
 public:
  void deliver(std::uint64_t tag, sdk::JobResult r) override {
    std::lock_guard lock(mutex_);
    results_.emplace_back(tag, std::move(r));
    changed_.notify_all();
  }
  std::vector<std::pair<std::uint64_t, sdk::JobResult>> wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 10s, [&] { return results_.size() >= n; });
    return results_;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return results_.size();
  }
  void started(std::uint64_t tag) override {
    std::lock_guard lock(mutex_);
    started_.push_back(tag);
  }
  std::vector<std::uint64_t> started_tags() {
    std::lock_guard lock(mutex_);
    return started_;
  }

 private:
  std::vector<std::uint64_t> started_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<std::uint64_t, sdk::JobResult>> results_;
};

class SchedulerTest : public ::testing::Test {
 protected:
  sdk::JobPtr job(std::uint64_t tag, int priority, std::string op = "spin", std::string us = "1000",
                  std::uint32_t vm = 1) {
    auto j = std::make_shared<sdk::Job>();
    j->id = next_id_++;
    j->client_tag = tag;
    j->tenant = sdk::Tenant{vm, "A", priority, 1, 1};
    j->op = std::move(op);
    j->params = {{"us", us}};
    j->enqueued_at = sdk::Clock::now();
    return j;
  }

  NullLog log_;
  policies::StrictPriorityPolicy policy_;
  executors::CpuExecutor executor_{1};
  core::RefusalLog refusals_;
  core::Scheduler scheduler_{policy_, "test", executor_, {}, log_, refusals_};
  std::shared_ptr<RecordingChannel> channel_ = std::make_shared<RecordingChannel>();
  sdk::JobId next_id_ = 1;

  void SetUp() override { scheduler_.start(); }
  void TearDown() override {
    scheduler_.begin_shutdown();
    scheduler_.wait_idle(5s);
    executor_.stop();
    scheduler_.stop();
  }
};

}  // namespace

TEST_F(SchedulerTest, QueuedHighPriorityOvertakesQueuedLow) {
  scheduler_.submit(job(100, 0, "spin", "100000"), channel_, 100);  // occupies the one worker
  std::this_thread::sleep_for(20ms);
  for (std::uint64_t t = 1; t <= 3; ++t) scheduler_.submit(job(t, 0), channel_, 100);
  for (std::uint64_t t = 11; t <= 13; ++t) scheduler_.submit(job(t, 2), channel_, 100);
  auto results = channel_->wait_for(7);
  ASSERT_EQ(results.size(), 7u);
  std::vector<std::uint64_t> order;
  for (auto& [tag, r] : results) {
    EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
    order.push_back(tag);
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{100, 11, 12, 13, 1, 2, 3}));
  EXPECT_LT(results[1].second.dispatch_sequence, results[4].second.dispatch_sequence);
  EXPECT_GT(results[4].second.queued, results[1].second.queued) << "low waited longer";
}

TEST_F(SchedulerTest, PerVmLimitGivesQueueFull) {
  scheduler_.submit(job(1, 1, "spin", "50000"), channel_, 2);
  scheduler_.submit(job(2, 1), channel_, 2);
  scheduler_.submit(job(3, 1), channel_, 2);
  auto results = channel_->wait_for(3);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].first, 3u) << "the refusal comes first, at once";
  EXPECT_EQ(results[0].second.status, sdk::Status::queue_full);
  EXPECT_NE(results[0].second.message.find("limit 2"), std::string::npos);
  auto stats = scheduler_.stats();
  EXPECT_EQ(stats["vms"]["1"]["rejected"], 1);
}

TEST_F(SchedulerTest, CancelQueuedJobAndDuplicateTag) {
  scheduler_.submit(job(1, 1, "spin", "50000"), channel_, 100);
  scheduler_.submit(job(2, 1), channel_, 100);
  scheduler_.submit(job(2, 1), channel_, 100);  // same tag while in flight
  scheduler_.cancel(channel_.get(), 2);
  auto results = channel_->wait_for(3);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].second.status, sdk::Status::bad_request);
  EXPECT_EQ(results[1].first, 2u);
  EXPECT_EQ(results[1].second.status, sdk::Status::cancelled);
  EXPECT_EQ(results[2].first, 1u);
  EXPECT_EQ(results[2].second.status, sdk::Status::ok);
}

TEST_F(SchedulerTest, DisconnectDropsQueuedJobsAndLeaksNothing) {
  scheduler_.submit(job(1, 1, "spin", "30000"), channel_, 100);
  for (std::uint64_t t = 2; t <= 20; ++t) scheduler_.submit(job(t, 1), channel_, 100);
  std::this_thread::sleep_for(5ms);
  scheduler_.disconnected(channel_.get());
  ASSERT_TRUE(scheduler_.wait_idle(5s));
  std::this_thread::sleep_for(50ms);
  auto stats = scheduler_.stats();
  EXPECT_EQ(stats["queued_total"], 0);
  EXPECT_EQ(stats["tracked_jobs"], 0);
  EXPECT_EQ(stats["connections_with_jobs"], 0);
  EXPECT_EQ(stats["vms"]["1"]["cancelled"], 19);
  EXPECT_LE(channel_->count(), 1u) << "nothing is delivered to a closed channel";
}

TEST_F(SchedulerTest, ShutdownFailsQueuedJobsAndFinishesRunning) {
  scheduler_.submit(job(1, 1, "spin", "50000"), channel_, 100);
  scheduler_.submit(job(2, 1), channel_, 100);
  std::this_thread::sleep_for(10ms);
  scheduler_.begin_shutdown();
  scheduler_.submit(job(3, 1), channel_, 100);
  EXPECT_TRUE(scheduler_.wait_idle(5s));
  auto results = channel_->wait_for(3);
  ASSERT_EQ(results.size(), 3u);
  std::map<std::uint64_t, sdk::Status> by_tag;
  for (auto& [tag, r] : results) by_tag[tag] = r.status;
  EXPECT_EQ(by_tag[1], sdk::Status::ok);
  EXPECT_EQ(by_tag[2], sdk::Status::shutting_down);
  EXPECT_EQ(by_tag[3], sdk::Status::shutting_down);
}

TEST_F(SchedulerTest, ExpiredDeadlineIsNotRun) {
  scheduler_.submit(job(1, 1, "spin", "30000"), channel_, 100);
  auto late = job(2, 1);
  late->deadline = sdk::Clock::now() + 1ms;
  scheduler_.submit(late, channel_, 100);
  auto results = channel_->wait_for(2);
  ASSERT_EQ(results.size(), 2u);
  // Deadlines are checked when the job would start, i.e. after the blocker.
  EXPECT_EQ(results[1].first, 2u);
  EXPECT_EQ(results[1].second.status, sdk::Status::deadline_exceeded);
  EXPECT_EQ(results[0].second.status, sdk::Status::ok);
}

TEST_F(SchedulerTest, StartedIsToldOnlyForJobsHandedToTheExecutor) {
  scheduler_.submit(job(1, 1, "spin", "30000"), channel_, 100);
  auto late = job(2, 1);
  late->deadline = sdk::Clock::now() + 1ms;
  scheduler_.submit(late, channel_, 100);
  scheduler_.submit(job(3, 1), channel_, 100);
  scheduler_.cancel(channel_.get(), 3);
  scheduler_.submit(job(4, 2), channel_, 100);
  ASSERT_EQ(channel_->wait_for(4).size(), 4u);
  // 2 expired in the queue, 3 was cancelled there: neither reached the executor.
  auto started = channel_->started_tags();
  std::sort(started.begin(), started.end());
  EXPECT_EQ(started, (std::vector<std::uint64_t>{1, 4}));
}

TEST_F(SchedulerTest, TagIsReusableAsSoonAsItsResultArrives) {
  for (int round = 1; round <= 20; ++round) {
    scheduler_.submit(job(7, 1, "noop"), channel_, 100);
    auto results = channel_->wait_for(round);
    ASSERT_EQ(results.size(), static_cast<std::size_t>(round));
    EXPECT_EQ(results.back().second.status, sdk::Status::ok) << results.back().second.message;
  }
}

namespace {

// The real CPU executor with two workers, declaring a device-admission limit of one low-priority
// job in flight, and recording how many low jobs ran at once.
class AdmissionLimitedExecutor : public sdk::Executor {
 public:
  sdk::ExecutorInfo info() const override {
    auto info = inner_.info();
    info.max_in_flight = {1, 0, 0};
    return info;
  }
  void execute(sdk::JobPtr job, sdk::DoneCallback done) override {
    const bool low = job->tenant.priority == 0;
    if (low) {
      std::lock_guard lock(mutex_);
      max_low_seen_ = std::max(max_low_seen_, ++low_running_);
    }
    inner_.execute(std::move(job), [this, low, done = std::move(done)](sdk::JobResult r) {
      if (low) {
        std::lock_guard lock(mutex_);
        --low_running_;
      }
      done(std::move(r));
    });
  }
  void stop() override { inner_.stop(); }
  int max_low_seen() {
    std::lock_guard lock(mutex_);
    return max_low_seen_;
  }

 private:
  executors::CpuExecutor inner_{2};
  std::mutex mutex_;
  int low_running_ = 0, max_low_seen_ = 0;
};

// A policy that ignores SlotInfo::admits, as third-party ones may: the core must hold its jobs.
class IgnoresAdmission : public sdk::Policy {
 public:
  void enqueue(sdk::JobPtr job) override { inner_.enqueue(std::move(job)); }
  sdk::JobPtr dispatch(const sdk::SlotInfo&) override { return inner_.dispatch({}); }
  sdk::JobPtr cancel(sdk::JobId id) override { return inner_.cancel(id); }
  std::size_t pending() const override { return inner_.pending(); }

 private:
  policies::StrictPriorityPolicy inner_;
};

class AdmissionTest : public SchedulerTest, public ::testing::WithParamInterface<bool> {
 protected:
  AdmissionLimitedExecutor limited_;
  IgnoresAdmission ignoring_;
  sdk::Policy& policy() { return GetParam() ? static_cast<sdk::Policy&>(policy_) : ignoring_; }
  core::Scheduler admitting_{policy(), "test", limited_, {}, log_, refusals_};
  void SetUp() override {
    SchedulerTest::SetUp();
    admitting_.start();
  }
  void TearDown() override {
    admitting_.begin_shutdown();
    admitting_.wait_idle(5s);
    limited_.stop();
    admitting_.stop();
    SchedulerTest::TearDown();
  }
};

}  // namespace

TEST_P(AdmissionTest, LowPriorityJobsAreHeldAtTheLimitAndHighOnesStillStart) {
  for (std::uint64_t t = 1; t <= 4; ++t)
    admitting_.submit(job(t, 0, "spin", "40000"), channel_, 100);
  std::this_thread::sleep_for(10ms);
  auto stats = admitting_.stats();
  EXPECT_EQ(stats["running_total"], 1) << "a second slot is free, but low is at its limit";
  EXPECT_EQ(stats["queued_total"], 3);
  EXPECT_EQ(stats["held_for_admission"], GetParam() ? 0 : 2) << "held only if the policy ignores";
  admitting_.submit(job(50, 2, "spin", "1000"), channel_, 100);
  admitting_.cancel(channel_.get(), 4);  // a held or queued job can still be cancelled
  auto results = channel_->wait_for(5);
  ASSERT_EQ(results.size(), 5u);
  std::vector<std::uint64_t> order;
  for (auto& [tag, r] : results) order.push_back(tag);
  if (GetParam())
    EXPECT_EQ(order, (std::vector<std::uint64_t>{4, 50, 1, 2, 3}))
        << "the high job ran beside the first low one";
  else  // the held list was full: the high job waited for one low job, not for all of them
    EXPECT_EQ(order, (std::vector<std::uint64_t>{4, 1, 50, 2, 3}));
  EXPECT_EQ(results[0].second.status, sdk::Status::cancelled);
  EXPECT_EQ(limited_.max_low_seen(), 1);
  EXPECT_TRUE(admitting_.wait_idle(5s));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(admitting_.stats()["held_for_admission"], 0);
  EXPECT_EQ(admitting_.stats()["tracked_jobs"], 0);
}

INSTANTIATE_TEST_SUITE_P(PolicyHonoursAdmits, AdmissionTest, ::testing::Bool());

namespace {

// Completes jobs on its own thread while holding the mutex that execute() takes too, as an
// executor plugin may. Records which thread called execute().
class LockingExecutor : public sdk::Executor {
 public:
  LockingExecutor() : thread_([this] { complete_jobs(); }) {}
  ~LockingExecutor() override { stop(); }
  sdk::ExecutorInfo info() const override { return {"locking", 1, {"noop"}, "test"}; }
  void execute(sdk::JobPtr, sdk::DoneCallback done) override {
    std::lock_guard lock(mutex_);
    callers_.push_back(std::this_thread::get_id());
    pending_.push_back(std::move(done));
    wake_.notify_one();
  }
  void stop() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::thread::id> callers() {
    std::lock_guard lock(mutex_);
    return callers_;
  }

 private:
  void complete_jobs() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;
      auto done = std::move(pending_.front());
      pending_.erase(pending_.begin());
      done(sdk::JobResult{});  // under the lock, on purpose
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<sdk::DoneCallback> pending_;
  std::vector<std::thread::id> callers_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

class SchedulerThreads : public ::testing::Test {
 protected:
  static sdk::JobPtr noop_job(std::uint64_t id, int priority) {
    auto job = std::make_shared<sdk::Job>();
    job->id = id;
    job->client_tag = id;
    job->tenant = sdk::Tenant{1, "A", priority, 1, 1};
    job->op = "noop";
    return job;
  }
  void SetUp() override { scheduler_.start(); }
  void TearDown() override {
    executor_.stop();
    scheduler_.stop();
  }

  NullLog log_;
  policies::StrictPriorityPolicy policy_;
  LockingExecutor executor_;
  core::RefusalLog refusals_;
  core::Scheduler scheduler_{policy_, "test", executor_, {}, log_, refusals_};
  std::shared_ptr<RecordingChannel> channel_ = std::make_shared<RecordingChannel>();
};

TEST_F(SchedulerThreads, AJobFindingAFreeSlotStartsOnTheSubmittingThread) {
  scheduler_.submit(noop_job(1, 2), channel_, 10);
  // No hand-off to the scheduler thread: the transport's thread dispatched it itself.
  ASSERT_EQ(executor_.callers(), std::vector<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(channel_->wait_for(1).size(), 1u);
}

TEST_F(SchedulerThreads, AnExecutorAnsweringUnderItsOwnLockNeverDeadlocksTheScheduler) {
  // Its completions must not run the scheduler on its thread: that would call execute() again
  // under the executor's own lock.
  constexpr std::uint64_t kJobs = 300;
  for (std::uint64_t t = 1; t <= kJobs; ++t)
    scheduler_.submit(noop_job(t, int(t % 3)), channel_, kJobs);
  auto results = channel_->wait_for(kJobs);
  EXPECT_EQ(results.size(), kJobs);
  for (auto& [tag, r] : results) EXPECT_EQ(r.status, sdk::Status::ok) << tag;
  EXPECT_TRUE(scheduler_.wait_idle(5s));
}

// The policy is replaced while jobs wait: each queued job moves to the new policy in its arrival
// order, nothing is lost or run twice, the running job finishes, and from then on the new policy
// decides (FIFO here: low before high, as they came).
TEST_F(SchedulerTest, ReplacingThePolicyMovesQueuedJobsInArrivalOrder) {
  scheduler_.submit(job(100, 0, "spin", "150000"), channel_, 100);  // occupies the one worker
  std::this_thread::sleep_for(30ms);
  for (std::uint64_t t = 1; t <= 3; ++t) scheduler_.submit(job(t, 0), channel_, 100);
  for (std::uint64_t t = 11; t <= 13; ++t) scheduler_.submit(job(t, 2), channel_, 100);
  static policies::FifoPolicy fifo;  // outlives the scheduler, which keeps using it
  EXPECT_EQ(scheduler_.replace_policy(fifo, "fifo"), 6u);
  EXPECT_EQ(policy_.pending(), 0u) << "the old policy gave everything back";
  scheduler_.submit(job(21, 2), channel_, 100);
  auto results = channel_->wait_for(8);
  ASSERT_EQ(results.size(), 8u);
  std::vector<std::uint64_t> order;
  for (auto& [tag, r] : results) {
    EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
    order.push_back(tag);
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{100, 1, 2, 3, 11, 12, 13, 21}));
  const auto stats = scheduler_.stats();
  EXPECT_EQ(stats["policy_name"], "fifo");
  EXPECT_EQ(stats["policy_changes"], 1);
  EXPECT_EQ(stats["queued_total"], 0);
}

TEST(SchedulerStats, CountsResultsByStatusRefusalsByReasonAndBothDurations) {
  vgpu::core::SchedulerStats stats;
  vgpu::sdk::Tenant t;
  t.vm_id = 4;
  t.pool = "A";
  t.priority = 2;
  t.memory_quota_bytes = 1 << 20;
  for (int i = 0; i < 3; ++i) {
    stats.enqueued(t);
    stats.started(t, std::chrono::microseconds(200));
  }
  stats.finished(t, vgpu::sdk::Status::ok, std::chrono::milliseconds(2),
                 std::chrono::milliseconds(1));
  stats.finished(t, vgpu::sdk::Status::ok, std::chrono::milliseconds(2),
                 std::chrono::milliseconds(1));
  stats.finished(t, vgpu::sdk::Status::quota_exceeded);
  stats.rejected(t, vgpu::sdk::Status::queue_full);
  const auto& c = stats.vms().at(4);
  EXPECT_EQ(c.finished_by_status.count(vgpu::sdk::Status::ok), 2u);
  EXPECT_EQ(c.finished_by_status.count(vgpu::sdk::Status::quota_exceeded), 1u);
  EXPECT_EQ(c.finished_by_status.count(vgpu::sdk::Status::execution_error), 0u);
  EXPECT_EQ(c.rejected_by_reason.count(vgpu::sdk::Status::queue_full), 1u);
  EXPECT_EQ(c.done(), 2u);
  EXPECT_EQ(c.failed(), 1u);
  EXPECT_EQ(c.rejected(), 1u);
  EXPECT_EQ(c.wait_seconds.count(), 3u);
  EXPECT_EQ(c.run_seconds.count(), 3u);
  EXPECT_NEAR(c.device_seconds, 0.002, 1e-9);
  EXPECT_EQ(c.memory_quota_bytes, 1u << 20);
  EXPECT_EQ(c.queued, 0u);
  EXPECT_EQ(c.running, 0u);
}

// With several devices the mediator counts each VM's jobs per device (placement): the scheduler
// must say exactly once when each job it was given leaves it, however it leaves.
TEST(SchedulerHooks, EveryJobLeavesExactlyOnceAndStartsAreNumberedAcrossSchedulers) {
  NullLog log;
  policies::StrictPriorityPolicy policy_a, policy_b;
  executors::CpuExecutor executor_a{1}, executor_b{1};
  core::RefusalLog refusals;
  std::mutex mutex;
  std::map<std::uint32_t, int> left;
  std::atomic<std::uint64_t> counter{0};
  auto hooks = [&] {
    core::SchedulerHooks h;
    h.job_left = [&](std::uint32_t vm) {
      std::lock_guard lock(mutex);
      ++left[vm];
    };
    h.dispatch_counter = &counter;
    return h;
  };
  core::Scheduler a{policy_a, "a", executor_a, {}, log, refusals, hooks()};
  core::Scheduler b{policy_b, "b", executor_b, {}, log, refusals, hooks()};
  a.start();
  b.start();
  auto channel = std::make_shared<RecordingChannel>();
  auto make = [](std::uint64_t tag, std::uint32_t vm, std::string us) {
    auto j = std::make_shared<sdk::Job>();
    j->id = tag;
    j->client_tag = tag;
    j->tenant = sdk::Tenant{vm, "A", 1, 1, 1};
    j->op = "spin";
    j->params = {{"us", std::move(us)}};
    j->enqueued_at = sdk::Clock::now();
    return j;
  };
  a.submit(make(1, 1, "100000"), channel, 10);  // runs
  a.submit(make(2, 1, "1000"), channel, 10);    // queued, then cancelled
  a.submit(make(3, 1, "1000"), channel, 2);     // refused: the VM's limit is 2
  b.submit(make(4, 2, "1000"), channel, 10);    // runs on the other scheduler
  a.cancel(channel.get(), 2);
  const auto results = channel->wait_for(4);
  ASSERT_EQ(results.size(), 4u);
  a.begin_shutdown();
  b.begin_shutdown();
  ASSERT_TRUE(a.wait_idle(5s));
  ASSERT_TRUE(b.wait_idle(5s));
  executor_a.stop();
  executor_b.stop();
  a.stop();
  b.stop();
  std::lock_guard lock(mutex);
  EXPECT_EQ(left[1], 3) << "ran, cancelled, refused: each left once";
  EXPECT_EQ(left[2], 1);
  std::vector<std::uint64_t> sequences;
  for (const auto& [tag, r] : results)
    if (r.status == sdk::Status::ok) sequences.push_back(r.dispatch_sequence);
  std::sort(sequences.begin(), sequences.end());
  EXPECT_EQ(sequences, (std::vector<std::uint64_t>{1, 2})) << "one numbering for both";
}

TEST(StageTrace, EachFinishedJobIsStampedInPathOrderUpToTheCapacityAndWritten) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("vgpu-stage-trace-" + std::to_string(::getpid()) + ".txt");
  core::StageTrace trace(path.string(), 2);
  NullLog log;
  policies::StrictPriorityPolicy policy;
  executors::CpuExecutor executor{1};
  core::RefusalLog refusals;
  core::SchedulerHooks hooks;
  hooks.stage_trace = &trace;
  core::Scheduler scheduler{policy, "test", executor, {}, log, refusals, std::move(hooks)};
  scheduler.start();
  auto channel = std::make_shared<RecordingChannel>();
  std::map<std::uint64_t, std::int64_t> submitted;
  for (std::uint64_t tag : {7, 8, 9}) {
    auto j = std::make_shared<sdk::Job>();
    j->id = tag;
    j->client_tag = tag;
    j->tenant = sdk::Tenant{5, "A", 2, 1, 1};
    j->op = "spin";
    j->params = {{"us", "2000"}};
    j->enqueued_at = sdk::Clock::now();
    submitted[tag] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(j->enqueued_at.time_since_epoch())
            .count();
    scheduler.submit(std::move(j), channel, 10);
  }
  ASSERT_EQ(channel->wait_for(3).size(), 3u);
  scheduler.begin_shutdown();
  ASSERT_TRUE(scheduler.wait_idle(5s));
  executor.stop();
  scheduler.stop();
  EXPECT_EQ(trace.recorded(), 2u);
  EXPECT_EQ(trace.dropped(), 1u) << "past the capacity a job is counted, not kept";

  trace.write();
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  EXPECT_NE(header.find("dropped 1"), std::string::npos) << header;
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    std::istringstream fields(line);
    std::uint32_t vm = 0;
    std::uint64_t tag = 0;
    std::int64_t at[5] = {}, device = -1;
    fields >> vm >> tag >> at[0] >> at[1] >> at[2] >> at[3] >> at[4] >> device;
    ASSERT_TRUE(fields) << line;
    EXPECT_EQ(vm, 5u);
    ASSERT_TRUE(submitted.count(tag)) << line;
    EXPECT_EQ(at[0], submitted[tag]) << "submitted is the job's enqueued_at";
    for (int i = 1; i < 5; ++i) EXPECT_LE(at[i - 1], at[i]) << "stage " << i << ": " << line;
    EXPECT_GE(at[3] - at[2], 2'000'000) << "the executor's part holds the 2 ms spin";
    EXPECT_GE(device, 2'000'000) << "the cpu executor's device time is its run of the spin";
    EXPECT_LE(device, at[3] - at[2]) << "the device's time lies inside the executor's";
  }
  EXPECT_EQ(lines, 2);
  std::filesystem::remove(path);

  core::StageTrace unwritable("/nonexistent-dir/trace.txt", 1);
  try {
    unwritable.write();
    FAIL() << "writing into a missing folder must fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/trace.txt"), std::string::npos);
  }
}

namespace {

// The real CPU executor, with every job it is handed written down.
class WatchedCpuExecutor : public sdk::Executor {
 public:
  sdk::ExecutorInfo info() const override { return cpu_.info(); }
  void execute(sdk::JobPtr job, sdk::DoneCallback done) override {
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(*job);
    }
    cpu_.execute(std::move(job), std::move(done));
  }
  void stop() override { cpu_.stop(); }
  std::vector<sdk::Job> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  executors::CpuExecutor cpu_{2};
  std::mutex mutex_;
  std::vector<sdk::Job> seen_;
};

}  // namespace

// keep_warm_us: a high-priority VM's job starts warm-ups (1 us spins of no VM, in its pool) while
// the executor idles; a low VM's job does not; no VM hears of them or is counted for them; a
// shutdown waits for the one in flight.
TEST(SchedulerKeepWarm, WarmUpsFollowOnlyAHighPriorityJobAndReachNoVm) {
  NullLog log;
  policies::StrictPriorityPolicy policy;
  WatchedCpuExecutor executor;
  core::RefusalLog refusals;
  core::SchedulerLimits limits;
  limits.keep_warm = 1ms;
  core::Scheduler scheduler(policy, "test", executor, limits, log, refusals);
  scheduler.start();
  auto channel = std::make_shared<RecordingChannel>();
  auto job = [](std::uint64_t id, int priority, std::uint32_t vm) {
    auto j = std::make_shared<sdk::Job>();
    j->id = j->client_tag = id;
    j->tenant = sdk::Tenant{vm, vm == 1 ? "A" : "B", priority, 1, 1};
    j->op = "noop";
    j->enqueued_at = sdk::Clock::now();
    return j;
  };
  scheduler.submit(job(1, 0, 1), channel, 10);
  ASSERT_EQ(channel->wait_for(1).size(), 1u);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(scheduler.snapshot().warm_ups, 0u) << "a low VM's job warms nothing";

  scheduler.submit(job(2, 2, 2), channel, 10);
  ASSERT_EQ(channel->wait_for(2).size(), 2u);
  for (int i = 0; i < 500 && scheduler.snapshot().warm_ups < 5; ++i)
    std::this_thread::sleep_for(10ms);
  const auto snap = scheduler.snapshot();
  EXPECT_GE(snap.warm_ups, 5u);
  EXPECT_EQ(channel->count(), 2u) << "warm-ups answer nobody";
  EXPECT_EQ(snap.vms.count(0), 0u) << "no VM is counted for them";
  EXPECT_EQ(snap.vms.at(2).done(), 1u);

  std::size_t warm_ups = 0;
  for (const auto& seen : executor.seen()) {
    if (seen.id < core::KeepWarm::kFirstId) continue;
    ++warm_ups;
    EXPECT_EQ(seen.tenant.vm_id, 0u);
    EXPECT_EQ(seen.tenant.pool, "B") << "the high VM's pool";
    EXPECT_EQ(seen.tenant.priority, 2);
    EXPECT_EQ(seen.op, "spin");
    EXPECT_EQ(seen.param("us"), "1");
  }
  EXPECT_GE(warm_ups, 5u);

  scheduler.begin_shutdown();
  EXPECT_TRUE(scheduler.wait_idle(5s));
  const auto at_shutdown = scheduler.snapshot().warm_ups;
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(scheduler.snapshot().warm_ups, at_shutdown) << "no warm-up after a shutdown began";
  executor.stop();
  scheduler.stop();
}
