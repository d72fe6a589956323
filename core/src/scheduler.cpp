#include "scheduler.hpp"

#include <algorithm>

#include "vgpu/sdk/shared_memory.hpp"

namespace vgpu::core {

Scheduler::Scheduler(sdk::Policy& policy, std::string policy_name, sdk::Executor& executor,
                     SchedulerLimits limits, sdk::Logger& log, RefusalLog& refusals,
                     SchedulerHooks hooks)
    : policy_(&policy),
      policy_name_(std::move(policy_name)),
      executor_(executor),
      limits_(limits),
      log_(log),
      keep_warm_(limits.keep_warm),
      refusals_(refusals),
      hooks_(std::move(hooks)) {
  const auto info = executor.info();
  executor_name_ = info.name;
  total_slots_ = free_slots_ = std::max(1u, info.slots);
  for (int level = 0; level < sdk::kPriorityLevels; ++level) {
    const unsigned limit = info.max_in_flight[level];
    level_limit_[level] = limit == 0 ? total_slots_ : std::min(limit, total_slots_);
  }
}

namespace {
int level_of(const sdk::Job& job) {
  return std::clamp(job.tenant.priority, 0, sdk::kPriorityLevels - 1);
}
}  // namespace

Scheduler::~Scheduler() {
  stop();
}

SchedulerLoad Scheduler::load() const {
  return {queued_seen_.load(std::memory_order_relaxed), running_.load(std::memory_order_relaxed)};
}

void Scheduler::start() {
  inbox_.scheduler_started();
  thread_ = std::thread([this] { run(); });
}

void Scheduler::stop() {
  inbox_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::post(Event e, Inbox::Poster poster) {
  if (inbox_.post(std::move(e), poster)) handle_inbox();
}

void Scheduler::handle_inbox() {
  std::vector<Event> batch;
  while (inbox_.next_batch(batch)) {
    for (auto& event : batch) std::visit([this](auto& e) { handle(e); }, event);
    batch.clear();
    dispatch_free_slots();
  }
}

void Scheduler::submit(sdk::JobPtr job, std::shared_ptr<sdk::ReplyChannel> channel,
                       std::size_t vm_limit) {
  post(Submit{std::move(job), std::move(channel), vm_limit}, Inbox::Poster::may_take_turn);
}

void Scheduler::cancel(const sdk::ReplyChannel* channel, std::uint64_t tag) {
  post(Cancel{channel, tag}, Inbox::Poster::may_take_turn);
}

void Scheduler::disconnected(const sdk::ReplyChannel* channel) {
  post(Disconnect{channel}, Inbox::Poster::may_take_turn);
}

SchedulerSnapshot Scheduler::snapshot() {
  auto reply = std::make_shared<std::promise<SchedulerSnapshot>>();
  auto answer = reply->get_future();
  post(StatsRequest{std::move(reply)}, Inbox::Poster::may_take_turn);
  if (answer.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    SchedulerSnapshot late;
    late.answered = false;
    return late;
  }
  return answer.get();
}

nlohmann::json SchedulerSnapshot::to_json() const {
  if (!answered) return {{"error", "the scheduler did not answer within 5 s"}};
  nlohmann::json vm_json = nlohmann::json::object();
  for (const auto& [vm_id, c] : vms) vm_json[std::to_string(vm_id)] = c.to_json();
  nlohmann::json group_json = nlohmann::json::array();
  for (const auto& [key, c] : groups) group_json.push_back(c.to_json());
  nlohmann::json policy = nlohmann::json::object();
  for (const auto& [name, value] : policy_stats) policy[name] = value;
  return {{"groups", group_json},
          {"vms", vm_json},
          {"queued_total", queued_total},
          {"running_total", running_total},
          {"slots", slots},
          {"dispatched_total", dispatched_total},
          {"executor", executor},
          {"policy_name", policy_name},
          {"policy_changes", policy_changes},
          {"tracked_jobs", tracked_jobs},
          {"held_for_admission", held_for_admission},
          {"parked_for_unread_results", parked_for_unread_results},
          {"connections_with_jobs", connections_with_jobs},
          {"policy", policy},
          {"warm_ups", warm_ups},
          {"shutting_down", shutting_down}};
}

void SchedulerSnapshot::merge(const SchedulerSnapshot& other) {
  if (!other.answered) answered = false;
  for (const auto& [vm_id, c] : other.vms) vms[vm_id].merge(c);
  for (const auto& [key, c] : other.groups) groups[key].merge(c);
  queued_total += other.queued_total;
  running_total += other.running_total;
  slots += other.slots;
  dispatched_total += other.dispatched_total;
  tracked_jobs += other.tracked_jobs;
  held_for_admission += other.held_for_admission;
  parked_for_unread_results += other.parked_for_unread_results;
  connections_with_jobs += other.connections_with_jobs;
  warm_ups += other.warm_ups;
  shutting_down = shutting_down || other.shutting_down;
}

std::size_t Scheduler::replace_policy(sdk::Policy& next, std::string name) {
  auto done = std::make_shared<std::promise<std::size_t>>();
  auto moved = done->get_future();
  post(ReplacePolicy{&next, std::move(name), std::move(done)}, Inbox::Poster::may_take_turn);
  return moved.get();
}

void Scheduler::begin_shutdown() {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  post(Shutdown{std::move(done)}, Inbox::Poster::may_take_turn);
  finished.wait();
}

bool Scheduler::wait_idle(std::chrono::milliseconds grace) {
  std::unique_lock lock(idle_mutex_);
  return idle_changed_.wait_for(lock, grace, [this] { return running_ == 0; });
}

void Scheduler::run() {
  auto next_log = sdk::Clock::now() + limits_.stats_interval;
  for (;;) {
    // Parked jobs are looked at again every few milliseconds: nothing posts an event when a
    // client reads its results.
    auto wake =
        parked_waiting_.load() ? std::min(next_log, sdk::Clock::now() + kParkedRetry) : next_log;
    wake = std::min(wake, warm_due_.load());
    const auto why = inbox_.take_turn(wake);
    if (why == Inbox::Wake::stop) {
      handle_inbox();  // what was posted before the stop, first
      log_stats();     // the final figures, so a stop never loses the last interval
      return;
    }
    // The statistics are the turn holder's state: they are logged with the turn held.
    if (sdk::Clock::now() >= next_log) {
      log_stats();
      next_log = sdk::Clock::now() + limits_.stats_interval;
    }
    dispatch_free_slots();  // parked jobs may start now, even when no event came
    keep_warm();
    handle_inbox();
  }
}

void Scheduler::handle(Submit& e) {
  const sdk::Job& job = *e.job;
  auto refuse = [&](sdk::Status status, const std::string& why) {
    stats_.rejected(job.tenant, status);
    refusals_.job_refused(job.tenant.vm_id, job.tenant.pool, status, why);
    e.channel->deliver(job.client_tag, sdk::JobResult::failure(status, why));
    if (hooks_.job_left) hooks_.job_left(job.tenant.vm_id);
  };
  if (shutting_down_) return refuse(sdk::Status::shutting_down, "the mediator is shutting down");
  auto channel = by_channel_.find(e.channel.get());
  if (channel != by_channel_.end() && channel->second.count(job.client_tag))
    return refuse(sdk::Status::bad_request, "tag " + std::to_string(job.client_tag) +
                                                " is already in flight on this connection");
  std::size_t& vm_jobs = per_vm_[job.tenant.vm_id];
  if (vm_jobs >= e.vm_limit)
    return refuse(sdk::Status::queue_full, "queue full: vm_id " + std::to_string(job.tenant.vm_id) +
                                               " already has " + std::to_string(vm_jobs) +
                                               " jobs queued or running (limit " +
                                               std::to_string(e.vm_limit) + ")");
  if (queued_ >= limits_.max_queued_total)
    return refuse(sdk::Status::queue_full, "queue full: the mediator holds " +
                                               std::to_string(queued_) + " queued jobs (limit " +
                                               std::to_string(limits_.max_queued_total) + ")");
  ++vm_jobs;
  ++queued_;
  keep_warm_.job_arrived(job, job.enqueued_at);
  by_channel_[e.channel.get()][job.client_tag] = job.id;
  stats_.enqueued(job.tenant);
  const auto* flow = dynamic_cast<const sdk::FlowControl*>(e.channel.get());
  jobs_.emplace(job.id, Entry{e.job, e.channel, e.channel.get(), flow});
  policy_->enqueue(std::move(e.job));
}

void Scheduler::handle(Cancel& e) {
  auto channel = by_channel_.find(e.channel);
  if (channel == by_channel_.end()) return;
  auto tag = channel->second.find(e.tag);
  if (tag == channel->second.end()) return;
  const sdk::JobId id = tag->second;
  Entry& entry = jobs_.at(id);
  stats_.cancelled(entry.job->tenant);
  if (withdraw(id)) {
    reply(entry, sdk::JobResult::failure(sdk::Status::cancelled, "cancelled by the client"));
  } else {
    log_.error("policy could not cancel job " + std::to_string(id) + " it holds");
    reply(entry, sdk::JobResult::failure(sdk::Status::internal_error,
                                         "the policy lost the job; it was not run"));
  }
  forget(id);
}

void Scheduler::handle(Disconnect& e) {
  auto channel = by_channel_.find(e.channel);
  if (channel == by_channel_.end()) return;
  std::vector<sdk::JobId> ids;
  for (const auto& [tag, id] : channel->second) ids.push_back(id);
  by_channel_.erase(channel);
  for (sdk::JobId id : ids) {
    Entry& entry = jobs_.at(id);
    entry.channel.reset();  // nobody to answer
    entry.key = nullptr;
    withdraw(id);
    stats_.cancelled(entry.job->tenant);
    forget(id);
  }
}

void Scheduler::handle(Completed& e) {
  auto it = jobs_.find(e.id);
  if (it == jobs_.end()) {
    log_.error("executor completed unknown job " + std::to_string(e.id));
    return;
  }
  Entry& entry = it->second;
  release_slot(level_of(*entry.job));
  // A job the previous policy chose is not this one's to account for.
  if (entry.dispatched_by == policy_generation_) policy_->completed(*entry.job, e.usage);
  // The executor's own measure of the run when it gives one (cpu and cuda do); else the time
  // until this event, which adds the hand-off to this thread.
  const auto ran = e.usage.wall.count() > 0 ? e.usage.wall : sdk::Clock::now() - entry.started;
  stats_.finished(entry.job->tenant, e.status, ran, e.usage.device);
  forget(e.id);
}

void Scheduler::handle(StatsRequest& e) {
  SchedulerSnapshot out;
  out.vms = stats_.vms();
  out.groups = stats_.groups();
  out.queued_total = queued_;
  out.running_total = total_slots_ - free_slots_;
  out.slots = total_slots_;
  out.dispatched_total = dispatch_sequence_;
  out.executor = executor_name_;
  out.policy_name = policy_name_;
  out.policy_changes = policy_generation_ - 1;
  out.warm_ups = keep_warm_.sent();
  out.tracked_jobs = jobs_.size();
  out.held_for_admission = held_.size();
  out.parked_for_unread_results = parked_.size();
  out.connections_with_jobs = by_channel_.size();
  for (const auto& s : policy_->stats()) out.policy_stats.emplace_back(s.name, s.value);
  out.shutting_down = shutting_down_;
  e.reply->set_value(std::move(out));
}

void Scheduler::handle(Shutdown& e) {
  shutting_down_ = true;
  std::vector<sdk::JobId> queued;
  for (const auto& [id, entry] : jobs_)
    if (!entry.running) queued.push_back(id);
  for (sdk::JobId id : queued) {
    Entry& entry = jobs_.at(id);
    withdraw(id);
    stats_.cancelled(entry.job->tenant);
    reply(entry, sdk::JobResult::failure(sdk::Status::shutting_down,
                                         "the mediator is shutting down; the job was not run"));
    forget(id);
  }
  log_.info("shutdown: " + std::to_string(queued.size()) + " queued jobs failed, " +
            std::to_string(total_slots_ - free_slots_) + " running jobs finishing");
  e.done->set_value();
}

void Scheduler::handle(ReplacePolicy& e) {
  // The jobs the policy holds: queued, not running, not already taken out of it (held for
  // admission, parked for unread results). Job ids grow with arrival, so sorted ids are the
  // order they came in.
  std::vector<sdk::JobId> queued;
  for (const auto& [id, entry] : jobs_) {
    if (entry.running) continue;
    const auto taken = [id = id](const sdk::JobPtr& j) { return j->id == id; };
    if (std::any_of(held_.begin(), held_.end(), taken) ||
        std::any_of(parked_.begin(), parked_.end(), taken))
      continue;
    queued.push_back(id);
  }
  std::sort(queued.begin(), queued.end());
  std::size_t moved = 0;
  for (sdk::JobId id : queued) {
    if (sdk::JobPtr job = policy_->cancel(id)) {
      e.next->enqueue(std::move(job));
      ++moved;
    } else {
      log_.error("policy " + policy_name_ + " did not give back queued job " + std::to_string(id) +
                 " when it was replaced");
    }
  }
  if (policy_->pending() != 0)
    log_.error("policy " + policy_name_ + " still holds " + std::to_string(policy_->pending()) +
               " jobs after handing over every queued one");
  policy_ = e.next;
  policy_name_ = std::move(e.name);
  ++policy_generation_;
  e.done->set_value(moved);
}

void Scheduler::dispatch_free_slots() {
  while (free_slots_ > 0) {
    sdk::JobPtr job = next_admissible_job();
    if (!job) break;
    launch(std::move(job));
  }
  parked_waiting_ = !parked_.empty();
  queued_seen_.store(queued_, std::memory_order_relaxed);
  publish_warm_due();
}

void Scheduler::publish_warm_due() {
  if (limits_.keep_warm.count() == 0) return;  // a hot path: nothing to publish without warming
  const auto due = keep_warm_.next_due();
  if (due < warm_due_.exchange(due)) inbox_.timer_moved();
}

void Scheduler::keep_warm() {
  if (shutting_down_) return;
  sdk::JobPtr job = keep_warm_.take_due(
      sdk::Clock::now(), free_slots_ > 0 && level_has_room(KeepWarm::kPriority), queued_ == 0);
  publish_warm_due();
  if (!job) return;
  // A shutdown waits for it as for any job, before the executor stops.
  occupy_slot(KeepWarm::kPriority);
  auto done = [this](sdk::JobResult result) {
    post(WarmUpDone{result.status, std::move(result.message)}, Inbox::Poster::never_takes_turn);
  };
  try {
    executor_.execute(std::move(job), done);
  } catch (const std::exception& ex) {
    done(sdk::JobResult::failure(sdk::Status::execution_error,
                                 std::string("executor refused the job: ") + ex.what()));
  }
}

void Scheduler::handle(WarmUpDone& e) {
  release_slot(KeepWarm::kPriority);
  if (auto why = keep_warm_.ended(e.status, e.message)) log_.warn(*why);
  publish_warm_due();
}

bool Scheduler::level_has_room(int level) const {
  return level_running_[level] < level_limit_[level];
}

bool Scheduler::level_has_room(const sdk::Job& job) const {
  return level_has_room(level_of(job));
}

void Scheduler::occupy_slot(int level) {
  --free_slots_;
  ++level_running_[level];
  std::lock_guard lock(idle_mutex_);
  ++running_;
}

void Scheduler::release_slot(int level) {
  ++free_slots_;
  --level_running_[level];
  {
    std::lock_guard lock(idle_mutex_);
    --running_;
  }
  idle_changed_.notify_all();
}

bool Scheduler::backlogged(const sdk::Job& job) const {
  auto it = jobs_.find(job.id);
  return it != jobs_.end() && it->second.flow && it->second.channel &&
         it->second.flow->backlogged();
}

sdk::JobPtr Scheduler::next_admissible_job() {
  // A parked job goes first once its client has read enough: it was chosen before the others.
  // A channel's parked jobs keep their order: once one of them stays, the rest of that channel
  // stay too.
  std::vector<const sdk::ReplyChannel*> still_parked;
  for (auto it = parked_.begin(); it != parked_.end(); ++it) {
    const auto* key = jobs_.at((*it)->id).channel.get();
    if (std::find(still_parked.begin(), still_parked.end(), key) != still_parked.end()) continue;
    if (backlogged(**it) || !level_has_room(**it)) {
      still_parked.push_back(key);
      continue;
    }
    sdk::JobPtr job = std::move(*it);
    parked_.erase(it);
    return job;
  }
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if (!level_has_room(**it)) continue;
    sdk::JobPtr job = std::move(*it);
    held_.erase(it);
    return job;
  }
  sdk::SlotInfo slot{executor_name_, total_slots_ - free_slots_};
  for (int level = 0; level < sdk::kPriorityLevels; ++level)
    slot.admits[level] = level_running_[level] < level_limit_[level];
  while (held_.size() < total_slots_) {
    sdk::JobPtr job = policy_->dispatch(slot);
    if (!job) return nullptr;
    auto it = jobs_.find(job->id);
    if (it == jobs_.end() || it->second.running) {
      log_.error("policy dispatched job " + std::to_string(job->id) +
                 " that is not queued; ignored");
      continue;
    }
    const auto* key = it->second.channel.get();
    const bool behind_parked = std::any_of(parked_.begin(), parked_.end(), [&](auto& p) {
      return jobs_.at(p->id).channel.get() == key;
    });
    if (behind_parked || backlogged(*job)) {
      parked_.push_back(std::move(job));
      continue;
    }
    if (level_has_room(*job)) return job;
    held_.push_back(std::move(job));
  }
  return nullptr;
}

bool Scheduler::withdraw(sdk::JobId id) {
  --queued_;  // whatever the policy says: the job is not queued any more
  auto held = std::find_if(held_.begin(), held_.end(), [id](auto& j) { return j->id == id; });
  if (held != held_.end()) {
    held_.erase(held);
    return true;
  }
  auto parked = std::find_if(parked_.begin(), parked_.end(), [id](auto& j) { return j->id == id; });
  if (parked != parked_.end()) {
    parked_.erase(parked);
    return true;
  }
  return policy_->cancel(id) != nullptr;
}

void Scheduler::launch(sdk::JobPtr job) {
  Entry& entry = jobs_.at(job->id);
  --queued_;  // the other place a job leaves the queue: withdraw()
  const auto now = sdk::Clock::now();
  stats_.started(job->tenant, now - job->enqueued_at);
  if (job->deadline && now > *job->deadline) {
    stats_.finished(job->tenant, sdk::Status::deadline_exceeded);
    reply(entry, sdk::JobResult::failure(sdk::Status::deadline_exceeded,
                                         "the deadline passed while the job was queued"));
    forget(job->id);
    return;
  }
  entry.running = true;
  entry.dispatched_by = policy_generation_;
  entry.started = now;
  ++dispatch_sequence_;
  keep_warm_.dispatched(now);
  entry.sequence =
      hooks_.dispatch_counter ? hooks_.dispatch_counter->fetch_add(1) + 1 : dispatch_sequence_;
  detach_from_channel(entry);  // no longer cancellable; its tag may be reused once answered
  occupy_slot(level_of(*job));
  auto done = completion_for(entry, *job, now);
  if (entry.channel) entry.channel->started(job->client_tag);
  try {
    executor_.execute(std::move(job), done);
  } catch (const std::exception& ex) {
    done(sdk::JobResult::failure(sdk::Status::execution_error,
                                 std::string("executor refused the job: ") + ex.what()));
  }
}

sdk::DoneCallback Scheduler::completion_for(const Entry& entry, const sdk::Job& job,
                                            sdk::Clock::time_point started) {
  // Runs on the executor's thread. The result goes straight from there to the client: one
  // thread hand-off less on every job. The scheduler hears of the completion afterwards, for the
  // slot, the policy's accounting and the statistics. A channel already closed drops the result.
  // Outputs the executor returned are moved into the client's shared memory here, when it asked
  // for that, so every executor serves such clients (sdk/shared_memory.hpp).
  return [this, id = job.id, channel = entry.channel, tag = job.client_tag,
          submitted = job.enqueued_at, started, vm_id = job.tenant.vm_id, sequence = entry.sequence,
          places = job.output_places](sdk::JobResult result) {
    const auto finished = sdk::Clock::now();
    sdk::settle_outputs(places, result);
    const sdk::Usage usage = result.usage;
    const sdk::Status status = result.status;
    result.queued = started - submitted;
    result.dispatch_sequence = sequence;
    if (channel) channel->deliver(tag, std::move(result));
    if (auto* trace = hooks_.stage_trace) {
      auto ns = [](sdk::Clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
      };
      trace->record({vm_id, tag, ns(submitted), ns(started), ns(finished - usage.wall),
                     ns(finished), ns(sdk::Clock::now()), usage.device.count()});
    }
    post(Completed{id, usage, status}, Inbox::Poster::never_takes_turn);
  };
}

void Scheduler::reply(Entry& entry, sdk::JobResult result) {
  if (entry.channel) entry.channel->deliver(entry.job->client_tag, std::move(result));
}

void Scheduler::forget(sdk::JobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Entry& entry = it->second;
  const std::uint32_t vm_id = entry.job->tenant.vm_id;
  if (auto vm = per_vm_.find(vm_id); vm != per_vm_.end() && --vm->second == 0) per_vm_.erase(vm);
  detach_from_channel(entry);
  jobs_.erase(it);
  if (hooks_.job_left) hooks_.job_left(vm_id);
}

void Scheduler::detach_from_channel(Entry& entry) {
  if (!entry.key) return;
  auto channel = by_channel_.find(entry.key);
  if (channel != by_channel_.end()) {
    channel->second.erase(entry.job->client_tag);
    if (channel->second.empty()) by_channel_.erase(channel);
  }
  entry.key = nullptr;
}

void Scheduler::log_stats() {
  const std::string prefix = hooks_.device.empty() ? "stats: " : "stats " + hooks_.device + ": ";
  for (const auto& line : stats_.log_lines()) log_.info(prefix + line);
}

}  // namespace vgpu::core
