// A building block for executor authors: N worker threads taking jobs from one queue, so
// execute() returns at once and every job's done() is called exactly once, also on stop().
//
// `spin`: an idle worker first watches the queue for this long before it sleeps (one worker at
// a time; the others sleep at once). Waking a sleeping thread costs tens of microseconds, more in
// a VM; a job that arrives while a worker spins starts within a microsecond. Under load (a
// worker takes a job while others are running jobs) a sleeping worker is woken to take over
// watching, so the next job finds a spinner too: the wake-up happens while this job runs, not in
// the next one's path. In an otherwise idle pool it does not: the job's worker watches again
// once done, and on the H100 host the extra wake-up per job cost more than it saved there.
// The price is one busy CPU core while the pool has an idle worker and was busy within `spin`.
// Zero (the default) never spins.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "vgpu/sdk/executor.hpp"

namespace vgpu::sdk {

class WorkerPool {
 public:
  // Runs on worker `index` for each job; it must call `done` exactly once.
  using Handler = std::function<void(unsigned index, JobPtr job, DoneCallback done)>;

  WorkerPool(unsigned workers, Handler handler,
             std::chrono::microseconds spin = std::chrono::microseconds::zero())
      : handler_(std::move(handler)), spin_(spin) {
    threads_.reserve(workers);
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(JobPtr job, DoneCallback done) {
    bool spinner_will_see_it;
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back({std::move(job), std::move(done)});
      queued_.store(tasks_.size(), std::memory_order_release);
      // A spinner clears `spinning_` under this mutex before it sleeps, and looks at the queue
      // after that: while it is still set, the spinner is bound to see this task. It takes one
      // task; a second one waiting beside it needs a sleeping worker woken.
      spinner_will_see_it = spinning_ && tasks_.size() == 1;
    }
    if (!spinner_will_see_it) wake_.notify_one();
  }

  // Whether an idle worker is watching the queue now (for tests).
  bool spinning() const {
    std::lock_guard lock(mutex_);
    return spinning_;
  }

  // Workers finish every queued job first, then the threads are joined. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    stop_seen_.store(true, std::memory_order_release);
    wake_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  struct Task {
    JobPtr job;
    DoneCallback done;
  };

  void loop(unsigned index) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (spin_.count() > 0 && tasks_.empty() && !stopping_ && !spinning_) {
        spinning_ = true;
        lock.unlock();
        spin_until_work();
        lock.lock();
        spinning_ = false;
      }
      ++sleeping_;
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty() || spinner_wanted_; });
      --sleeping_;
      if (tasks_.empty()) {
        if (stopping_) return;
        spinner_wanted_ = false;  // woken to take over watching the queue
        continue;
      }
      Task task = std::move(tasks_.front());
      tasks_.pop_front();
      queued_.store(tasks_.size(), std::memory_order_release);
      const bool hand_over = spin_.count() > 0 && busy_ > 0 && !spinning_ && !spinner_wanted_ &&
                             sleeping_ > 0 && !stopping_;
      if (hand_over) spinner_wanted_ = true;
      ++busy_;
      lock.unlock();
      if (hand_over) wake_.notify_one();
      handler_(index, std::move(task.job), std::move(task.done));
      lock.lock();
      --busy_;
    }
  }

  void spin_until_work() const {
    const auto until = std::chrono::steady_clock::now() + spin_;
    while (queued_.load(std::memory_order_acquire) == 0 &&
           !stop_seen_.load(std::memory_order_acquire)) {
      for (int i = 0; i < 64; ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();  // lets the core's sibling hyper-thread run meanwhile
#endif
      }
      if (std::chrono::steady_clock::now() >= until) return;
    }
  }

  Handler handler_;
  std::chrono::microseconds spin_;
  std::atomic<std::size_t> queued_{0};  // tasks_.size(), readable without the mutex
  std::atomic<bool> stop_seen_{false};
  bool spinning_ = false;        // a worker watches the queue instead of sleeping
  bool spinner_wanted_ = false;  // a sleeping worker is asked to take over watching
  unsigned sleeping_ = 0;        // workers waiting on wake_
  unsigned busy_ = 0;            // workers running a job
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vgpu::sdk
