// A VM's shared memory as a session process sees it (docs/remote-cuda.md, "Copies through
// shared memory"): the region file the VM's transport granted, mapped here so that copies go
// between it and the device with no copy through the mediator. The guest writes the region
// whenever it likes, so nothing read from it is trusted, and every range a call names is
// checked against the mapping's size before it is touched.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace vgpu::executors::cuda::remote {

class GuestMemory {
 public:
  // Maps `path` (a regular file, not a link) read-write. Throws std::runtime_error naming the
  // file and the reason.
  static std::shared_ptr<GuestMemory> map(const std::string& path);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  std::uint8_t* base() const { return base_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // [offset, offset + bytes) inside the region: its first byte; else nullptr and `why`.
  std::uint8_t* range(std::uint64_t offset, std::uint64_t bytes, std::string& why) const;
  // Page-locked for the device once per process, by the first session that uses it.
  std::once_flag pin_once;

 private:
  GuestMemory(std::uint8_t* base, std::size_t size, std::string path)
      : base_(base), size_(size), path_(std::move(path)) {}
  std::uint8_t* base_;
  std::size_t size_;
  std::string path_;
};

}  // namespace vgpu::executors::cuda::remote
