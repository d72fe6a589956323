// A building block for executor authors: N worker threads taking jobs from one queue, so
// execute() returns at once and every job's done() is called exactly once, also on stop().
#pragma once

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

  WorkerPool(unsigned workers, Handler handler) : handler_(std::move(handler)) {
    threads_.reserve(workers);
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(JobPtr job, DoneCallback done) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back({std::move(job), std::move(done)});
    }
    wake_.notify_one();
  }

  // Workers finish every queued job first, then the threads are joined. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
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
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      handler_(index, std::move(task.job), std::move(task.done));
    }
  }

  Handler handler_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vgpu::sdk
