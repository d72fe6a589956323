// The scheduler's inbox and its turn. Threads post events here; the turn is the right to handle
// them and to call the policy and the executor, held by one thread at a time. Whoever holds it
// handles every queued event, including those posted meanwhile, before giving it up, so an event
// is never left behind.
//
// Who takes the turn: a transport thread that posts while nobody holds it takes it at once (the
// job goes from the socket to the executor without waking another thread); an executor's
// completion never does (it may run under the executor's own lock, and handling events there
// would re-enter execute()), it wakes the scheduler thread instead. The scheduler thread takes
// the turn for what nobody else handles: completions, timers and the stop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace vgpu::core {

template <typename Event>
class SchedulerInbox {
 public:
  enum class Poster { may_take_turn, never_takes_turn };
  enum class Wake { events, timer, stop };

  // Queues `event`. True when the caller now holds the turn and must handle the inbox
  // (next_batch() until it returns false).
  bool post(Event event, Poster poster) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    if (turn_held_) return false;  // the holder handles it before letting go
    if (poster == Poster::never_takes_turn || stop_requested_ || !scheduler_running_) {
      wake_.notify_one();
      return false;
    }
    turn_held_ = true;
    return true;
  }

  // With the turn held: moves every queued event into `batch` and returns true, or, when none
  // is queued, gives up the turn and returns false.
  bool next_batch(std::vector<Event>& batch) {
    std::lock_guard lock(mutex_);
    if (events_.empty()) {
      turn_held_ = false;
      // The scheduler thread may have looked while the turn was held and gone back to sleep:
      // what it looked for (a moved timer, a stop) must wake it now.
      if (scheduler_wants_turn_ || timer_moved_ || stop_requested_) wake_.notify_one();
      return false;
    }
    batch.swap(events_);
    return true;
  }

  // The scheduler thread: waits until an event is queued while nobody holds the turn, a stop is
  // requested, or `until` passes; then waits for the turn and returns holding it, saying why.
  Wake take_turn(std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(mutex_);
    const bool woken = wake_.wait_until(lock, until, [this] {
      return !turn_held_ && (stop_requested_ || !events_.empty() || timer_moved_);
    });
    timer_moved_ = false;
    scheduler_wants_turn_ = true;
    wake_.wait(lock, [this] { return !turn_held_; });
    scheduler_wants_turn_ = false;
    turn_held_ = true;
    // After a stop is requested, posts only queue: nobody handles them any more.
    if (stop_requested_) return Wake::stop;
    return woken ? Wake::events : Wake::timer;
  }

  // The scheduler thread's next timer is now earlier than the one it sleeps until: it wakes and
  // looks again (keep_warm_us' next warm-up, set by whoever held the turn).
  void timer_moved() {
    std::lock_guard lock(mutex_);
    timer_moved_ = true;
    wake_.notify_one();
  }

  void request_stop() {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
    wake_.notify_one();
  }

  // Until the scheduler thread runs, posters never take the turn (a scheduler that was never
  // started only queues).
  void scheduler_started() {
    std::lock_guard lock(mutex_);
    scheduler_running_ = true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Event> events_;
  bool turn_held_ = false;
  bool scheduler_wants_turn_ = false;  // the scheduler thread waits for the turn (timer, stop)
  bool stop_requested_ = false;
  bool timer_moved_ = false;
  bool scheduler_running_ = false;
};

}  // namespace vgpu::core
