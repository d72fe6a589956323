#include "simulator.hpp"

#include <queue>
#include <random>
#include <stdexcept>
#include <unordered_map>

namespace vgpu::sim {
namespace {

struct Event {
  double time;
  std::uint64_t order;  // ties broken by creation order: runs are deterministic
  enum class Type { arrival, completion } type;
  std::size_t source;  // arrival: which source
  sdk::JobPtr job;     // completion
  bool operator>(const Event& o) const { return std::tie(time, order) > std::tie(o.time, o.order); }
};

class Engine {
 public:
  Engine(const Workload& w, const PolicyMaker& make) : w_(w), rng_(w.seed) {
    policy_ = make([this] { return to_clock(now_); });
    for (const auto& vm : w.vms) vms_[vm.vm_id] = &vm;
  }

  SimResult run() {
    for (std::size_t i = 0; i < w_.sources.size(); ++i) schedule_initial(i);
    free_slots_ = w_.slots;
    while (!events_.empty()) {
      Event e = events_.top();
      events_.pop();
      now_ = e.time;
      if (e.type == Event::Type::arrival)
        arrive(e.source);
      else
        complete(e.job);
      dispatch();
    }
    result_.makespan_s = now_;
    return std::move(result_);
  }

 private:
  static sdk::Clock::time_point to_clock(double s) {
    return sdk::Clock::time_point(
        std::chrono::duration_cast<sdk::Clock::duration>(std::chrono::duration<double>(s)));
  }
  double stop_of(const Source& s) const { return s.stop_s < 0 ? w_.duration_s : s.stop_s; }

  void push(double t, Event::Type type, std::size_t source, sdk::JobPtr job = nullptr) {
    events_.push(Event{t, order_++, type, source, std::move(job)});
  }

  void schedule_initial(std::size_t i) {
    const Source& s = w_.sources[i];
    switch (s.kind) {
      case Source::Kind::closed:
        for (unsigned k = 0; k < s.inflight; ++k) push(s.start_s, Event::Type::arrival, i);
        break;
      case Source::Kind::poisson:
        push(s.start_s + exponential(s.rate_per_s), Event::Type::arrival, i);
        break;
      case Source::Kind::burst:
        for (unsigned k = 0; k < s.count; ++k) push(s.at_s, Event::Type::arrival, i);
        break;
      case Source::Kind::trace:
        for (std::size_t k = 0; k < s.trace.size(); ++k) {
          push(s.trace[k].first, Event::Type::arrival, i);
          trace_durations_[i].push(s.trace[k].second);
        }
        break;
    }
  }

  double exponential(double rate) { return std::exponential_distribution<double>(rate)(rng_); }

  double duration_of(std::size_t i) {
    const Source& s = w_.sources[i];
    if (s.kind == Source::Kind::trace) {
      const double us = trace_durations_[i].front();
      trace_durations_[i].pop();
      return us / 1e6;
    }
    const double factor =
        s.jitter > 0 ? std::uniform_real_distribution<double>(1 - s.jitter, 1 + s.jitter)(rng_) : 1;
    return s.job_us * factor / 1e6;
  }

  void arrive(std::size_t i) {
    const Source& s = w_.sources[i];
    const SimVm& vm = *vms_.at(s.vm_id);
    auto job = std::make_shared<sdk::Job>();
    job->id = next_id_++;
    job->tenant = sdk::Tenant{vm.vm_id, vm.pool, vm.priority, vm.weight,
                              w_.pool_weights.count(vm.pool) ? w_.pool_weights.at(vm.pool) : 1.0};
    job->op = "spin";
    job->enqueued_at = to_clock(now_);
    if (s.deadline_ms > 0) job->deadline = to_clock(now_ + s.deadline_ms / 1e3);
    meta_[job->id] = {i, now_, duration_of(i)};
    policy_->enqueue(std::move(job));
    if (s.kind == Source::Kind::poisson) {
      const double next = now_ + exponential(s.rate_per_s);
      if (next < stop_of(s)) push(next, Event::Type::arrival, i);
    }
  }

  void complete(const sdk::JobPtr& job) {
    ++free_slots_;
    const Meta m = meta_.at(job->id);
    meta_.erase(job->id);
    const auto cost = std::chrono::nanoseconds(static_cast<std::int64_t>(m.duration_s * 1e9));
    policy_->completed(*job, {cost, cost});
    const Source& s = w_.sources[m.source];
    // A closed-loop client sends its next job the moment one finishes (zero think time), so it
    // is in the queue before the freed slot is handed out.
    if (s.kind == Source::Kind::closed && now_ < stop_of(s)) arrive(m.source);
  }

  void dispatch() {
    while (free_slots_ > 0 && policy_->pending() > 0) {
      sdk::JobPtr job = policy_->dispatch({"sim", w_.slots - free_slots_});
      if (!job) throw std::runtime_error("the policy has pending jobs but dispatched none");
      --free_slots_;
      const Meta& m = meta_.at(job->id);
      const bool missed = job->deadline && to_clock(now_ + m.duration_s) > *job->deadline;
      result_.jobs.push_back(
          {job->tenant.vm_id, m.arrival_s, now_ - m.arrival_s, m.duration_s, missed});
      result_.busy_s += m.duration_s;
      push(now_ + m.duration_s, Event::Type::completion, m.source, std::move(job));
    }
  }

  struct Meta {
    std::size_t source;
    double arrival_s;
    double duration_s;
  };

  const Workload& w_;
  std::mt19937_64 rng_;
  std::unique_ptr<sdk::Policy> policy_;
  std::unordered_map<std::uint32_t, const SimVm*> vms_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::unordered_map<std::size_t, std::queue<double>> trace_durations_;
  std::unordered_map<sdk::JobId, Meta> meta_;
  double now_ = 0;
  std::uint64_t order_ = 0;
  sdk::JobId next_id_ = 1;
  unsigned free_slots_ = 0;
  SimResult result_;
};

}  // namespace

SimResult simulate(const Workload& workload, const PolicyMaker& make_policy) {
  return Engine(workload, make_policy).run();
}

}  // namespace vgpu::sim
