// The scheduler's inbox and its turn: one holder at a time, nothing posted is left behind, an
// executor's completion never takes the turn, and the scheduler thread gets the turn for timers
// and the stop.
#include "scheduler_inbox.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

using vgpu::core::SchedulerInbox;
using Inbox = SchedulerInbox<int>;
using namespace std::chrono_literals;

namespace {

// Handles everything queued with the turn held, as Scheduler::handle_inbox does.
std::vector<int> handle_all(Inbox& inbox) {
  std::vector<int> seen, batch;
  while (inbox.next_batch(batch)) {
    seen.insert(seen.end(), batch.begin(), batch.end());
    batch.clear();
  }
  return seen;
}

}  // namespace

TEST(SchedulerInbox, BeforeTheSchedulerRunsPostsOnlyQueue) {
  Inbox inbox;
  EXPECT_FALSE(inbox.post(1, Inbox::Poster::may_take_turn));
  inbox.scheduler_started();
  EXPECT_EQ(inbox.take_turn(std::chrono::steady_clock::now()), Inbox::Wake::events);
  EXPECT_EQ(handle_all(inbox), std::vector<int>{1});
}

TEST(SchedulerInbox, APosterTakesAFreeTurnAndLeavesItWhenTheInboxIsEmpty) {
  Inbox inbox;
  inbox.scheduler_started();
  ASSERT_TRUE(inbox.post(1, Inbox::Poster::may_take_turn));
  // While the turn is held, another post only queues: the holder handles it before letting go.
  EXPECT_FALSE(inbox.post(2, Inbox::Poster::may_take_turn));
  EXPECT_EQ(handle_all(inbox), (std::vector<int>{1, 2}));
  EXPECT_TRUE(inbox.post(3, Inbox::Poster::may_take_turn)) << "the turn was given up";
  EXPECT_EQ(handle_all(inbox), std::vector<int>{3});
}

TEST(SchedulerInbox, ACompletionNeverTakesTheTurnItWakesTheSchedulerThread) {
  Inbox inbox;
  inbox.scheduler_started();
  EXPECT_FALSE(inbox.post(7, Inbox::Poster::never_takes_turn));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(inbox.take_turn(start + 10s), Inbox::Wake::events);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "woken by the post, not the timer";
  EXPECT_EQ(handle_all(inbox), std::vector<int>{7});
}

TEST(SchedulerInbox, TheSchedulerThreadWaitsForTheTurnHeldElsewhere) {
  Inbox inbox;
  inbox.scheduler_started();
  ASSERT_TRUE(inbox.post(1, Inbox::Poster::may_take_turn));  // held by this thread
  std::atomic<bool> got_turn{false};
  auto scheduler = std::async(std::launch::async, [&] {
    auto why = inbox.take_turn(std::chrono::steady_clock::now());  // its timer is due at once
    got_turn = true;
    handle_all(inbox);
    return why;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(got_turn) << "two holders at once";
  EXPECT_EQ(handle_all(inbox), std::vector<int>{1});  // gives the turn up
  EXPECT_EQ(scheduler.get(), Inbox::Wake::timer);
  EXPECT_TRUE(got_turn);
}

// A timer moved or a stop asked for while another thread holds the turn reaches the sleeping
// scheduler thread when that turn is given up. (The first keep_warm_us version lost it: the
// release woke the scheduler thread only when it already waited for the turn, so under load a
// warm-up due time set by a transport thread slept until the next statistics line.)
TEST(SchedulerInbox, WhatCameWhileTheTurnWasHeldWakesTheSchedulerAtItsRelease) {
  for (const bool stop : {false, true}) {
    Inbox inbox;
    inbox.scheduler_started();
    std::promise<void> waiting;
    auto scheduler = std::async(std::launch::async, [&] {
      waiting.set_value();
      return inbox.take_turn(std::chrono::steady_clock::now() + 60s);
    });
    waiting.get_future().wait();
    std::this_thread::sleep_for(50ms);  // asleep in take_turn, its timer a minute away
    ASSERT_TRUE(inbox.post(1, Inbox::Poster::may_take_turn));
    if (stop)
      inbox.request_stop();
    else
      inbox.timer_moved();
    std::this_thread::sleep_for(50ms);  // the scheduler thread looks, finds the turn held, sleeps
    EXPECT_EQ(handle_all(inbox), std::vector<int>{1});  // gives the turn up
    const bool woke = scheduler.wait_for(5s) == std::future_status::ready;
    EXPECT_TRUE(woke) << (stop ? "the stop" : "the moved timer")
                      << " was lost while the turn was held";
    if (!woke) inbox.request_stop();  // ends the wait here rather than in a minute
    const auto why = scheduler.get();
    if (woke) EXPECT_EQ(why, stop ? Inbox::Wake::stop : Inbox::Wake::events);
    handle_all(inbox);
  }
}

TEST(SchedulerInbox, AfterAStopPostsOnlyQueue) {
  Inbox inbox;
  inbox.scheduler_started();
  inbox.post(1, Inbox::Poster::never_takes_turn);
  inbox.request_stop();
  EXPECT_EQ(inbox.take_turn(std::chrono::steady_clock::now() + 10s), Inbox::Wake::stop);
  EXPECT_EQ(handle_all(inbox), std::vector<int>{1}) << "what came before the stop is handled";
  EXPECT_FALSE(inbox.post(2, Inbox::Poster::may_take_turn));
}

TEST(SchedulerInbox, ManyPostersNothingLostNothingHandledTwice) {
  Inbox inbox;
  inbox.scheduler_started();
  std::atomic<bool> stop{false};
  std::mutex seen_mutex;
  std::vector<int> seen;
  auto handle = [&] {
    auto got = handle_all(inbox);
    std::lock_guard lock(seen_mutex);
    seen.insert(seen.end(), got.begin(), got.end());
  };
  std::thread scheduler([&] {
    while (!stop) {
      if (inbox.take_turn(std::chrono::steady_clock::now() + 1ms) == Inbox::Wake::stop) break;
      handle();
    }
  });
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t)
    posters.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const auto poster = i % 3 ? Inbox::Poster::may_take_turn : Inbox::Poster::never_takes_turn;
        if (inbox.post(t * 10000 + i, poster)) handle();
      }
    });
  for (auto& p : posters) p.join();
  stop = true;
  inbox.request_stop();
  scheduler.join();
  handle();  // the scheduler thread left at the stop holding the turn: what is left is ours
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 8000u);
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "handled twice";
}
