// The shared-memory regions of a stream transport (docs/protocol.md, "Shared memory"): one file
// per VM, `<dir>/vm<N>`, which QEMU maps as the vgpu-stub's shared-memory BAR (or a client on the
// host maps directly). The file's name carries the VM's identity, so a connection only ever gets
// the region of the VM it authenticated as. Each region is mapped once and shared by the VM's
// connections and its jobs; it is unmapped when the last of them lets go.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "vgpu/sdk/job.hpp"

namespace vgpu::transports {

struct SharedMemoryOptions {
  std::filesystem::path dir;   // empty: no shared memory
  std::size_t size_bytes = 0;  // of a region the mediator creates; an existing file keeps its size
};

class MappedRegion final : public sdk::SharedRegion {
 public:
  MappedRegion(std::uint8_t* base, std::size_t size, std::string name, dev_t dev, ino_t ino)
      : base_(base), size_(size), name_(std::move(name)), dev_(dev), ino_(ino) {}
  ~MappedRegion() override { ::munmap(base_, size_); }
  std::uint8_t* base() const override { return base_; }
  std::size_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  bool is(const struct stat& st) const { return st.st_dev == dev_ && st.st_ino == ino_; }
  // The rings at the region's end belong to one connection at a time (a VM may hold several):
  // true when the caller now owns them, until it releases them.
  bool claim_rings() { return !rings_claimed_.exchange(true); }
  void release_rings() { rings_claimed_ = false; }

 private:
  std::uint8_t* base_;
  std::size_t size_;
  std::string name_;
  dev_t dev_;
  ino_t ino_;
  std::atomic<bool> rings_claimed_{false};
};

class SharedRegions {
 public:
  explicit SharedRegions(SharedMemoryOptions options) : options_(std::move(options)) {}

  bool enabled() const { return !options_.dir.empty(); }

  // Creates the directory, so that a wrong path is an error at start. Throws naming it.
  void prepare() const {
    if (!enabled()) return;
    std::error_code ec;
    std::filesystem::create_directories(options_.dir, ec);
    if (ec || !std::filesystem::is_directory(options_.dir))
      throw std::runtime_error("shared_memory_dir " + options_.dir.string() +
                               " is not a usable directory" + (ec ? ": " + ec.message() : ""));
  }

  // VM `vm_id`'s region: the mapping already held, or the file mapped now (created with
  // size_bytes when missing). Throws std::runtime_error naming the file and the reason.
  std::shared_ptr<MappedRegion> for_vm(std::uint32_t vm_id) {
    const auto path = options_.dir / ("vm" + std::to_string(vm_id));
    std::lock_guard lock(mutex_);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660);
    if (fd < 0) throw failure(path, "cannot open", errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw std::runtime_error("shared memory " + path.string() + " is not a regular file");
    }
    // The same file as the mapping held: reuse it (a file replaced, e.g. by a restarted QEMU,
    // gets a new mapping).
    if (auto held = held_[vm_id].lock(); held && held->is(st)) {
      ::close(fd);
      return held;
    }
    if (st.st_size == 0) {
      // Created here (QEMU had not yet): group read-write, so that a QEMU running as another
      // user in the folder's group (the packaged /dev/shm/vgpu is setgid vgpu, docs/packaging.md)
      // can open it; the umask would otherwise take the group's write bit.
      if (st.st_uid == ::geteuid()) ::fchmod(fd, 0660);
      if (::ftruncate(fd, static_cast<off_t>(options_.size_bytes)) != 0) {
        const int e = errno;
        ::close(fd);
        throw failure(path, "cannot size", e);
      }
      st.st_size = static_cast<off_t>(options_.size_bytes);
    }
    void* base = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE,
                        MAP_SHARED, fd, 0);
    const int e = errno;
    ::close(fd);
    if (base == MAP_FAILED) throw failure(path, "cannot map", e);
    auto region = std::make_shared<MappedRegion>(static_cast<std::uint8_t*>(base),
                                                 static_cast<std::size_t>(st.st_size),
                                                 path.string(), st.st_dev, st.st_ino);
    held_[vm_id] = region;
    return region;
  }

 private:
  static std::runtime_error failure(const std::filesystem::path& path, const char* what, int e) {
    return std::runtime_error(std::string(what) + " shared memory " + path.string() + ": " +
                              std::strerror(e));
  }

  SharedMemoryOptions options_;
  std::mutex mutex_;
  std::map<std::uint32_t, std::weak_ptr<MappedRegion>> held_;
};

}  // namespace vgpu::transports
