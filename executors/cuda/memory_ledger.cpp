#include "memory_ledger.hpp"

#include <cstdio>

namespace vgpu::executors::cuda {

std::string mebibytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", double(bytes) / (1 << 20));
  return text;
}

std::optional<std::string> MemoryLedger::reserve(std::uint32_t vm_id, std::uint64_t bytes,
                                                 std::uint64_t quota_bytes) {
  std::lock_guard lock(mutex_);
  std::uint64_t& used = in_use_[vm_id];
  if (quota_bytes && used + bytes > quota_bytes) {
    std::string why = "device memory quota exceeded: the job needs " + mebibytes(bytes) +
                      ", vm_id " + std::to_string(vm_id) + " has " + mebibytes(used) + " of its " +
                      mebibytes(quota_bytes) + " quota in use";
    if (used == 0) in_use_.erase(vm_id);
    return why;
  }
  used += bytes;
  return std::nullopt;
}

void MemoryLedger::release(std::uint32_t vm_id, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  auto it = in_use_.find(vm_id);
  if (it == in_use_.end()) return;
  it->second -= std::min(bytes, it->second);
  if (it->second == 0) in_use_.erase(it);
}

std::uint64_t MemoryLedger::in_use(std::uint32_t vm_id) const {
  std::lock_guard lock(mutex_);
  auto it = in_use_.find(vm_id);
  return it == in_use_.end() ? 0 : it->second;
}

std::unordered_map<std::uint32_t, std::uint64_t> MemoryLedger::all_in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

}  // namespace vgpu::executors::cuda
