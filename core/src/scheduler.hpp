// The scheduler: admission, the policy, device admission and dispatch to the executor. The
// policy and the executor are called by whoever holds the inbox's turn (scheduler_inbox.hpp),
// one thread at a time: this class's state after the inbox is the turn holder's alone.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "keep_warm.hpp"
#include "refusal_log.hpp"
#include "scheduler_inbox.hpp"
#include "scheduler_stats.hpp"
#include "stage_trace.hpp"
#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/policy.hpp"
#include "vgpu/sdk/transport.hpp"

namespace vgpu::core {

// What the scheduler's state looks like at one moment, copied on its turn so that readers (the
// status socket, the metrics endpoint) never touch the live state.
struct SchedulerSnapshot {
  std::map<std::uint32_t, Counters> vms;
  std::map<std::pair<std::string, int>, Counters> groups;  // per (pool, priority)
  std::size_t queued_total = 0, running_total = 0, slots = 0;
  std::uint64_t dispatched_total = 0;
  std::string executor, policy_name;
  std::uint64_t policy_changes = 0;
  std::size_t tracked_jobs = 0, held_for_admission = 0, parked_for_unread_results = 0;
  std::size_t connections_with_jobs = 0;
  std::vector<std::pair<std::string, double>> policy_stats;
  std::uint64_t warm_ups = 0;  // warm-up jobs dispatched (keep_warm_us)
  bool shutting_down = false;
  bool answered = true;  // false when the scheduler did not answer in time

  nlohmann::json to_json() const;
  // Adds another device's snapshot: counters summed per VM and group, totals summed. The names
  // (executor, policy) stay this one's.
  void merge(const SchedulerSnapshot& other);
};

struct SchedulerLimits {
  std::size_t max_queued_total = 100000;
  std::chrono::seconds stats_interval{60};
  // The executor entry's `keep_warm_us`: while a top-priority job arrived within
  // kKeepWarmFor, the scheduler hands the executor a warm-up job (keep_warm.hpp) whenever
  // nothing has been dispatched for this long and nothing waits. Zero: off.
  std::chrono::microseconds keep_warm{0};
};

// What a mediator with several devices (one scheduler each) needs from each of them.
struct SchedulerHooks {
  // Called exactly once for every job submit() was given, when it leaves this scheduler:
  // refused at admission, cancelled, dropped with its connection, failed by a shutdown, or
  // finished. On the turn holder's thread; must not block.
  std::function<void(std::uint32_t vm_id)> job_left;
  // Shared by the schedulers of one mediator, so that a result's dispatch_sequence orders the
  // starts of every device. Null: this scheduler counts alone.
  std::atomic<std::uint64_t>* dispatch_counter = nullptr;
  // Put in front of the periodic statistics lines ("cuda:1"), so each device's can be told
  // apart; empty with one device.
  std::string device;
  // Where each finished job's time went (stage_trace.hpp); null: nothing is recorded.
  StageTrace* stage_trace = nullptr;
};

// Jobs queued and running now, readable from any thread without the turn.
struct SchedulerLoad {
  std::size_t queued = 0;
  std::size_t running = 0;
};

class Scheduler {
 public:
  // `policy_name` is for the statistics. `refusals` logs the jobs it refuses, with the same
  // rate limit as the mediator's own refusals (one limit per kind of line).
  Scheduler(sdk::Policy& policy, std::string policy_name, sdk::Executor& executor,
            SchedulerLimits limits, sdk::Logger& log, RefusalLog& refusals,
            SchedulerHooks hooks = {});
  // As of the turn holder's last batch; for placement, which must not wait for the turn.
  SchedulerLoad load() const;
  ~Scheduler();

  void start();
  // `vm_limit`: how many jobs this VM may have queued or running.
  void submit(sdk::JobPtr job, std::shared_ptr<sdk::ReplyChannel> channel, std::size_t vm_limit);
  void cancel(const sdk::ReplyChannel* channel, std::uint64_t client_tag);
  void disconnected(const sdk::ReplyChannel* channel);
  // Both wait (up to 5 s) for the turn holder to copy its state.
  SchedulerSnapshot snapshot();
  nlohmann::json stats() { return snapshot().to_json(); }
  // Hands every queued job to `next`, in arrival order, and makes it the policy; jobs already
  // chosen (running, held for admission, parked) stay as they are, and the old policy hears no
  // more of them. Returns once the old policy is no longer used (the caller may destroy it): the
  // number of jobs moved. Call only while the scheduler runs and before begin_shutdown().
  std::size_t replace_policy(sdk::Policy& next, std::string name);

  // Refuses new jobs and fails every queued one with shutting_down; running jobs go on.
  void begin_shutdown();
  // Waits until no job runs, or `grace` passes. True when idle.
  bool wait_idle(std::chrono::milliseconds grace);
  // Ends the thread. Call after the executor has stopped.
  void stop();

 private:
  struct Entry {
    sdk::JobPtr job;
    std::shared_ptr<sdk::ReplyChannel> channel;  // null once the client is gone
    const sdk::ReplyChannel* key = nullptr;      // by_channel_ key while queued
    const sdk::FlowControl* flow = nullptr;      // the channel's, when it has flow control
    bool running = false;
    std::uint64_t dispatched_by = 0;  // the policy generation that chose it
    sdk::Clock::time_point started{};
    std::uint64_t sequence = 0;
  };
  struct Submit {
    sdk::JobPtr job;
    std::shared_ptr<sdk::ReplyChannel> channel;
    std::size_t vm_limit;
  };
  struct Cancel {
    const sdk::ReplyChannel* channel;
    std::uint64_t tag;
  };
  struct Disconnect {
    const sdk::ReplyChannel* channel;
  };
  // A job finished; its result has already been delivered.
  struct Completed {
    sdk::JobId id;
    sdk::Usage usage;
    sdk::Status status;
  };
  struct StatsRequest {
    std::shared_ptr<std::promise<SchedulerSnapshot>> reply;
  };
  struct Shutdown {
    std::shared_ptr<std::promise<void>> done;
  };
  struct ReplacePolicy {
    sdk::Policy* next;
    std::string name;
    std::shared_ptr<std::promise<std::size_t>> done;
  };
  // A warm-up job ended (keep_warm_us): its slot is free again.
  struct WarmUpDone {
    sdk::Status status;
    std::string message;
  };
  using Event = std::variant<Submit, Cancel, Disconnect, Completed, StatsRequest, Shutdown,
                             ReplacePolicy, WarmUpDone>;

  using Inbox = SchedulerInbox<Event>;
  void post(Event e, Inbox::Poster poster);
  // With the turn held: handles every queued event, dispatching to free slots after each batch,
  // then gives up the turn.
  void handle_inbox();
  void run();
  void handle(Submit& e);
  void handle(Cancel& e);
  void handle(Disconnect& e);
  void handle(Completed& e);
  void handle(StatsRequest& e);
  void handle(Shutdown& e);
  void handle(ReplacePolicy& e);
  void handle(WarmUpDone& e);
  void dispatch_free_slots();
  // keep_warm_us: when the next warm-up is due, or time_point::max() while none will be.
  sdk::Clock::time_point next_warm_up() const;
  // Dispatches a warm-up job if one is due, a slot is free and nothing waits.
  void keep_warm();
  // Publishes keep_warm_'s next due time for the scheduler thread's timer, waking that thread
  // when it moved earlier.
  void publish_warm_due();
  // The next job to start: a held job whose level now has room, else the policy's choice (held
  // back when its level is at the executor's admission limit). Null when nothing can start.
  sdk::JobPtr next_admissible_job();
  bool level_has_room(int level) const;
  bool level_has_room(const sdk::Job& job) const;
  // A job of `level` takes a slot / gives it back (launch, completion, warm-ups); release_slot
  // wakes wait_idle().
  void occupy_slot(int level);
  void release_slot(int level);
  bool backlogged(const sdk::Job& job) const;
  // Hands a job the policy chose to the executor (or fails it, past its deadline).
  void launch(sdk::JobPtr job);
  // What the executor calls when `job` finishes.
  sdk::DoneCallback completion_for(const Entry& entry, const sdk::Job& job,
                                   sdk::Clock::time_point started);
  // A queued job leaves the queue without running (cancel, disconnect, shutdown): out of the
  // queued count, and out of wherever it waits. False when nobody had it (a policy bug).
  bool withdraw(sdk::JobId id);
  void reply(Entry& entry, sdk::JobResult result);
  void forget(sdk::JobId id);
  void detach_from_channel(Entry& entry);
  void log_stats();

  sdk::Policy* policy_;  // the turn holder's; replaced by ReplacePolicy
  std::string policy_name_;
  std::uint64_t policy_generation_ = 1;
  sdk::Executor& executor_;
  SchedulerLimits limits_;
  sdk::Logger& log_;
  std::string executor_name_;
  unsigned free_slots_;
  unsigned total_slots_;
  // Device admission (ExecutorInfo::max_in_flight): jobs the policy chose whose priority level
  // was full. At most total_slots_ of them, so the policy keeps deciding the rest.
  std::array<unsigned, sdk::kPriorityLevels> level_limit_{};
  std::array<unsigned, sdk::kPriorityLevels> level_running_{};
  std::deque<sdk::JobPtr> held_;
  // Jobs the policy chose whose client has too many unread results (sdk::FlowControl): they
  // wait here, in the order chosen, until the client reads; still queued and cancellable.
  std::deque<sdk::JobPtr> parked_;
  std::atomic<bool> parked_waiting_{false};  // !parked_.empty(), for the scheduler thread
  KeepWarm keep_warm_;                       // the turn holder's
  // keep_warm_.next_due(), published after each batch for the scheduler thread's timer.
  std::atomic<sdk::Clock::time_point> warm_due_{sdk::Clock::time_point::max()};
  static constexpr std::chrono::milliseconds kParkedRetry{5};

  Inbox inbox_;
  std::thread thread_;

  // State of whoever holds the turn.
  std::unordered_map<sdk::JobId, Entry> jobs_;
  // Queued jobs by connection and tag: what CANCEL and a disconnect need. Running jobs are not
  // here: they cannot be cancelled, and they answer through the channel they captured.
  std::unordered_map<const sdk::ReplyChannel*, std::unordered_map<std::uint64_t, sdk::JobId>>
      by_channel_;
  std::unordered_map<std::uint32_t, std::size_t> per_vm_;  // queued + running
  std::size_t queued_ = 0;
  std::uint64_t dispatch_sequence_ = 0;
  bool shutting_down_ = false;
  SchedulerStats stats_;
  RefusalLog& refusals_;
  SchedulerHooks hooks_;
  std::atomic<std::size_t> queued_seen_{0};  // queued_, published after each batch

  // Read by wait_idle() from another thread.
  std::mutex idle_mutex_;
  std::condition_variable idle_changed_;
  std::atomic<unsigned> running_{0};  // written under idle_mutex_; read by load() without it
};

}  // namespace vgpu::core
