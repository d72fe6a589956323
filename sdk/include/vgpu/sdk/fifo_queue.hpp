// A building block for policy authors: a FIFO of jobs with O(1) push, pop and cancel-by-id.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

class FifoQueue {
 public:
  void push(JobPtr job) {
    const JobId id = job->id;
    slots_.push_back(std::move(job));
    position_.emplace(id, head_ + slots_.size() - 1);
  }

  // The oldest job, or nullptr when empty.
  JobPtr pop() {
    drop_cancelled_front();
    if (slots_.empty()) return nullptr;
    JobPtr job = std::move(slots_.front());
    slots_.pop_front();
    ++head_;
    position_.erase(job->id);
    return job;
  }

  const Job* front() {
    drop_cancelled_front();
    return slots_.empty() ? nullptr : slots_.front().get();
  }

  // Cancelled entries leave a hole that pop() skips, so removal never shifts the queue.
  JobPtr remove(JobId id) {
    auto it = position_.find(id);
    if (it == position_.end()) return nullptr;
    JobPtr job = std::move(slots_[it->second - head_]);
    position_.erase(it);
    drop_cancelled_front();
    return job;
  }

  bool contains(JobId id) const { return position_.count(id) != 0; }
  std::size_t size() const { return position_.size(); }
  bool empty() const { return position_.empty(); }

 private:
  void drop_cancelled_front() {
    while (!slots_.empty() && !slots_.front()) {
      slots_.pop_front();
      ++head_;
    }
  }

  std::deque<JobPtr> slots_;
  std::uint64_t head_ = 0;  // sequence number of slots_.front()
  std::unordered_map<JobId, std::uint64_t> position_;
};

}  // namespace vgpu::sdk
