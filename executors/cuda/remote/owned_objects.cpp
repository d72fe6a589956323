#include "owned_objects.hpp"

namespace vgpu::executors::cuda::remote {

std::optional<std::uint64_t> OwnedMemory::remove(std::uint64_t ptr) {
  auto it = blocks_.find(ptr);
  if (it == blocks_.end()) return std::nullopt;
  const std::uint64_t bytes = it->second;
  blocks_.erase(it);
  total_ -= bytes;
  return bytes;
}

std::string OwnedMemory::check_range(std::uint64_t ptr, std::uint64_t bytes) const {
  if (bytes == 0) return {};           // touches nothing
  auto it = blocks_.upper_bound(ptr);  // the first block starting after ptr
  if (it == blocks_.begin())
    return "no allocation of this session holds address " + std::to_string(ptr);
  --it;
  const std::uint64_t start = it->first, size = it->second;
  const std::uint64_t offset = ptr - start;  // ptr >= start here
  // offset + bytes <= size, without overflow
  if (offset >= size || bytes > size - offset)
    return "range of " + std::to_string(bytes) + " bytes at address " + std::to_string(ptr) +
           " is not inside one allocation of this session";
  return {};
}

}  // namespace vgpu::executors::cuda::remote
