#include "guest_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vgpu::executors::cuda::remote {

namespace {
std::runtime_error failure(const std::string& path, const char* what, int e) {
  return std::runtime_error(std::string(what) + " the VM's shared memory " + path + ": " +
                            std::strerror(e));
}
}  // namespace

std::shared_ptr<GuestMemory> GuestMemory::map(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw failure(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
    ::close(fd);
    throw std::runtime_error("the VM's shared memory " + path + " is not a non-empty file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int e = errno;
  ::close(fd);
  if (base == MAP_FAILED) throw failure(path, "cannot map", e);
  return std::shared_ptr<GuestMemory>(
      new GuestMemory(static_cast<std::uint8_t*>(base), size, path));
}

GuestMemory::~GuestMemory() {
  ::munmap(base_, size_);
}

std::uint8_t* GuestMemory::range(std::uint64_t offset, std::uint64_t bytes,
                                 std::string& why) const {
  if (offset > size_ || bytes > size_ - offset) {
    why = "shared memory range (offset " + std::to_string(offset) + ", " + std::to_string(bytes) +
          " bytes) lies outside the VM's region of " + std::to_string(size_) + " bytes";
    return nullptr;
  }
  return base_ + offset;
}

}  // namespace vgpu::executors::cuda::remote
