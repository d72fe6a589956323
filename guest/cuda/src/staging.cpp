#include "staging.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vgpu::guest::cuda {

StagingLayout staging_layout(std::size_t index, std::size_t slot_bytes) {
  StagingLayout l;
  const std::size_t base = index * slot_bytes;
  l.batch_bytes = kStagingMessageBytes;
  l.answer_bytes = kStagingMessageBytes;
  for (std::size_t m = 0; m < kStagingMessagePairs; ++m) {
    l.batch_offset[m] = base + 2 * m * kStagingMessageBytes;
    l.answer_offset[m] = l.batch_offset[m] + kStagingMessageBytes;
  }
  const std::size_t messages = 2 * kStagingMessagePairs * kStagingMessageBytes;
  l.half_bytes = (slot_bytes - messages) / 2 / 4096 * 4096;
  l.half_offset[0] = base + messages;
  l.half_offset[1] = l.half_offset[0] + l.half_bytes;
  return l;
}

std::optional<StagingSlot> StagingSlot::claim(const std::string& lock_dir, std::uint32_t vm_id,
                                              std::size_t region_bytes, std::size_t reserved_tail,
                                              std::size_t slot_bytes, std::string& why) {
  slot_bytes = slot_bytes / 4096 * 4096;
  const std::size_t usable = region_bytes > reserved_tail ? region_bytes - reserved_tail : 0;
  if (slot_bytes < 2 * kStagingMessagePairs * kStagingMessageBytes + 2 * kStagingMinHalfBytes ||
      slot_bytes > usable) {
    why = "the shared memory (" + std::to_string(usable) + " bytes usable) holds no slot of " +
          std::to_string(slot_bytes) + " bytes";
    return std::nullopt;
  }
  const std::size_t slots = usable / slot_bytes;
  for (std::size_t i = 0; i < slots; ++i) {
    const std::string path =
        lock_dir + "/vgpu-cuda-vm" + std::to_string(vm_id) + "-slot" + std::to_string(i) + ".lock";
    // Read-only, so that a lock file another user created (mode 0644) can still be locked.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
      why = "cannot open " + path + ": " + std::strerror(errno);
      return std::nullopt;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
      return StagingSlot(fd, i, staging_layout(i, slot_bytes));
    ::close(fd);
  }
  why = "all " + std::to_string(slots) + " slots of the shared memory are taken by other programs";
  return std::nullopt;
}

StagingSlot::StagingSlot(StagingSlot&& other) noexcept
    : fd_(other.fd_), index_(other.index_), layout_(other.layout_) {
  other.fd_ = -1;
}

StagingSlot& StagingSlot::operator=(StagingSlot&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    index_ = other.index_;
    layout_ = other.layout_;
    other.fd_ = -1;
  }
  return *this;
}

StagingSlot::~StagingSlot() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace vgpu::guest::cuda
