// This program's place in its VM's shared memory (docs/remote-cuda.md, "Copies through shared
// memory"). Every program in a VM maps the same region, so each claims a slot of its own with an
// flock(2) on a lock file named after the VM and the slot: the kernel releases it when the
// program ends, however it ends, and a program that finds every slot taken copies through the
// socket instead. The rings at the region's end (another connection's, perhaps) are never part
// of a slot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vgpu::guest::cuda {

// Batches a program may have in flight at once (docs/remote-cuda.md, "Two batches in flight"),
// each with a place for itself and its answer in the slot.
inline constexpr std::size_t kStagingMessagePairs = 2;

// A slot's parts: for each batch in flight, its calls and its answer (so that both travel as
// ranges of the region and their frames through the rings), then two halves for copies, one
// filled by the program while the host copies the other.
struct StagingLayout {
  std::size_t batch_offset[kStagingMessagePairs] = {}, batch_bytes = 0;
  std::size_t answer_offset[kStagingMessagePairs] = {}, answer_bytes = 0;
  std::size_t half_offset[2] = {0, 0};
  std::size_t half_bytes = 0;
};

inline constexpr std::size_t kStagingMessageBytes = std::size_t(1) << 20;  // batch, and answer
inline constexpr std::size_t kStagingMinHalfBytes = std::size_t(256) << 10;

class StagingSlot {
 public:
  // Claims the first free slot of `slot_bytes` in a region of `region_bytes` whose last
  // `reserved_tail` bytes are not to be used, with lock files in `lock_dir`. nullopt when the
  // region holds no slot of that size with halves of at least kStagingMinHalfBytes, or every
  // slot is taken; `why` then says which.
  static std::optional<StagingSlot> claim(const std::string& lock_dir, std::uint32_t vm_id,
                                          std::size_t region_bytes, std::size_t reserved_tail,
                                          std::size_t slot_bytes, std::string& why);
  StagingSlot(StagingSlot&& other) noexcept;
  StagingSlot& operator=(StagingSlot&& other) noexcept;
  StagingSlot(const StagingSlot&) = delete;
  ~StagingSlot();

  std::size_t index() const { return index_; }
  const StagingLayout& layout() const { return layout_; }

 private:
  StagingSlot(int fd, std::size_t index, StagingLayout layout)
      : fd_(fd), index_(index), layout_(layout) {}
  int fd_ = -1;
  std::size_t index_ = 0;
  StagingLayout layout_;
};

// The layout of slot `index` of `slot_bytes` (a multiple of 4096).
StagingLayout staging_layout(std::size_t index, std::size_t slot_bytes);

}  // namespace vgpu::guest::cuda
