// Bytes held on behalf of VMs, counted per VM and in total, with a limit on each: the results a
// client has not read yet, or the frames it has sent only in part. Any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace vgpu::transports {

class ByteLedger {
 public:
  ByteLedger(std::size_t per_vm_limit, std::size_t total_limit)
      : per_vm_limit_(per_vm_limit), total_limit_(total_limit) {}

  // Counts `bytes` more for `vm_id` if both limits allow it; false (nothing counted) otherwise.
  bool try_take(std::uint32_t vm_id, std::size_t bytes) {
    std::lock_guard lock(mutex_);
    std::size_t& vm = by_vm_[vm_id];
    if (bytes > per_vm_limit_ - vm || bytes > total_limit_ - total_.load()) {
      if (vm == 0) by_vm_.erase(vm_id);
      return false;
    }
    vm += bytes;
    total_ += bytes;
    return true;
  }
  // Counts `bytes` whatever the limits (what is already held cannot be refused).
  void take(std::uint32_t vm_id, std::size_t bytes) {
    std::lock_guard lock(mutex_);
    by_vm_[vm_id] += bytes;
    total_ += bytes;
  }
  void give_back(std::uint32_t vm_id, std::size_t bytes) {
    if (bytes == 0) return;
    std::lock_guard lock(mutex_);
    auto it = by_vm_.find(vm_id);
    if (it == by_vm_.end()) return;
    const std::size_t n = bytes < it->second ? bytes : it->second;
    it->second -= n;
    total_ -= n;
    if (it->second == 0) by_vm_.erase(it);
  }
  bool vm_over_limit(std::uint32_t vm_id) const {
    // Asked before every job of a VM is started: no VM can be over while all of them together
    // are not, and that needs no lock.
    if (total_.load(std::memory_order_relaxed) <= per_vm_limit_) return false;
    std::lock_guard lock(mutex_);
    auto it = by_vm_.find(vm_id);
    return it != by_vm_.end() && it->second > per_vm_limit_;
  }
  std::size_t held(std::uint32_t vm_id) const {
    std::lock_guard lock(mutex_);
    auto it = by_vm_.find(vm_id);
    return it == by_vm_.end() ? 0 : it->second;
  }
  std::size_t total() const { return total_.load(); }

 private:
  const std::size_t per_vm_limit_;
  const std::size_t total_limit_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint32_t, std::size_t> by_vm_;
  std::atomic<std::size_t> total_{0};  // written under mutex_, read without it
};

}  // namespace vgpu::transports
