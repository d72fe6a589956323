#include "worker_rings.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vgpu::core::isolation {
namespace {

constexpr std::size_t kMappingBytes = 2 * wire::kRingBytes;

std::uint8_t* map_rings(int fd) {
  void* p = ::mmap(nullptr, kMappingBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error(std::string("mapping the worker's rings: ") + std::strerror(errno));
  return static_cast<std::uint8_t*>(p);
}

}  // namespace

std::shared_ptr<WorkerRings> WorkerRings::create() {
  const int fd = ::memfd_create("vgpu-worker-rings", MFD_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error(std::string("memfd_create for the worker's rings: ") +
                             std::strerror(errno));
  if (::ftruncate(fd, kMappingBytes) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error(std::string("sizing the worker's rings: ") + std::strerror(e));
  }
  auto rings = attach(fd);  // maps it (or closes it and throws)
  rings->to_worker().reset();
  rings->to_mediator().reset();
  return rings;
}

std::shared_ptr<WorkerRings> WorkerRings::attach(int fd) {
  std::uint8_t* base = nullptr;
  try {
    base = map_rings(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return std::shared_ptr<WorkerRings>(new WorkerRings(fd, base));
}

WorkerRings::~WorkerRings() {
  ::munmap(base_, kMappingBytes);
  ::close(fd_);
}

bool RingOut::try_push(std::uint8_t type, const std::string& payload) {
  const std::size_t size = kRingMessageHeader + payload.size();
  if (size > kMaxRingMessage) return false;
  const std::uint64_t used = head_ - ring_.tail().load(std::memory_order_acquire);
  if (used > wire::kRingDataBytes || wire::kRingDataBytes - used < size) return false;
  std::uint8_t header[kRingMessageHeader];
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::memcpy(header, &length, 4);
  header[4] = type;
  ring_.write(head_, header);
  ring_.write(head_ + kRingMessageHeader,
              {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
  head_ += size;
  ring_.head().store(head_, std::memory_order_release);
  return true;
}

bool RingOut::reader_sleeps() const {
  wire::full_fence();
  return ring_.sleeping().load(std::memory_order_relaxed) != 0;
}

bool RingIn::empty() const {
  return ring_.head().load(std::memory_order_acquire) == tail_;
}

bool RingIn::try_pop(std::uint8_t& type, std::string& payload) {
  const std::uint64_t head = ring_.head().load(std::memory_order_acquire);
  const std::uint64_t published = head - tail_;
  if (published == 0) return false;
  if (published > wire::kRingDataBytes || published < kRingMessageHeader)
    throw RingError("the worker ring's head is " + std::to_string(published) +
                    " bytes past its tail: not a whole message");
  std::uint8_t header[kRingMessageHeader];
  ring_.read(tail_, header);
  std::uint32_t length = 0;
  std::memcpy(&length, header, 4);
  if (length > kMaxRingPayload || kRingMessageHeader + length > published)
    throw RingError("a worker ring message of " + std::to_string(length) + " bytes with " +
                    std::to_string(published) + " published");
  type = header[4];
  payload.resize(length);
  ring_.read(tail_ + kRingMessageHeader, {reinterpret_cast<std::uint8_t*>(payload.data()), length});
  tail_ += kRingMessageHeader + length;
  ring_.tail().store(tail_, std::memory_order_release);
  return true;
}

void RingIn::set_sleeping(bool sleeping) const {
  ring_.sleeping().store(sleeping ? 1 : 0, std::memory_order_relaxed);
  if (sleeping) wire::full_fence();
}

}  // namespace vgpu::core::isolation
