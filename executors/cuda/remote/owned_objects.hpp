// What one remote session owns, and the checks every guest-sent handle and pointer goes
// through before it reaches the driver. No CUDA here: CI tests these without a GPU.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

namespace vgpu::executors::cuda::remote {

// Numbers given out to the guest for driver objects (modules, functions, streams, events). The
// guest never sees a host pointer for them, so it can name only what this table holds.
template <typename T>
class HandleTable {
 public:
  explicit HandleTable(std::size_t limit) : limit_(limit) {}
  // The new handle, or nullopt when the session already holds `limit` of them.
  std::optional<std::uint64_t> add(T value) {
    if (items_.size() >= limit_) return std::nullopt;
    const std::uint64_t handle = next_++;
    items_.emplace(handle, std::move(value));
    return handle;
  }
  T* find(std::uint64_t handle) {
    auto it = items_.find(handle);
    return it == items_.end() ? nullptr : &it->second;
  }
  std::optional<T> take(std::uint64_t handle) {
    auto it = items_.find(handle);
    if (it == items_.end()) return std::nullopt;
    T value = std::move(it->second);
    items_.erase(it);
    return value;
  }
  std::size_t size() const { return items_.size(); }
  std::size_t limit() const { return limit_; }
  template <typename F>
  void for_each(F&& f) {
    for (auto& [handle, value] : items_) f(handle, value);
  }

 private:
  std::size_t limit_;
  std::uint64_t next_ = 1;  // 0 stays "none" (the default stream)
  std::unordered_map<std::uint64_t, T> items_;
};

// The device allocations of a session: a copy or memset may touch only bytes inside one of them.
class OwnedMemory {
 public:
  explicit OwnedMemory(std::size_t limit) : limit_(limit) {}
  bool full() const { return blocks_.size() >= limit_; }
  void add(std::uint64_t ptr, std::uint64_t bytes) {
    auto [it, added] = blocks_.try_emplace(ptr, bytes);
    if (!added) {
      total_ -= it->second;
      it->second = bytes;
    }
    total_ += bytes;
  }
  // The size of the allocation starting exactly at `ptr`, removed; nullopt if none starts there.
  std::optional<std::uint64_t> remove(std::uint64_t ptr);
  // Empty when [ptr, ptr + bytes) lies inside one allocation, else why not (for the guest).
  std::string check_range(std::uint64_t ptr, std::uint64_t bytes) const;
  // Kept as allocations come and go: asked on every allocation and after every batch.
  std::uint64_t total_bytes() const { return total_; }
  std::size_t count() const { return blocks_.size(); }
  const std::map<std::uint64_t, std::uint64_t>& blocks() const { return blocks_; }

 private:
  std::size_t limit_;
  std::map<std::uint64_t, std::uint64_t> blocks_;  // start -> size
  std::uint64_t total_ = 0;
};

}  // namespace vgpu::executors::cuda::remote
