// Wakes the file transport's thread when a guest may have written a request: inotify where the
// kernel sees the writes (local disks, the host side of 9p/virtiofs), otherwise a fixed polling
// interval (NFS: inotify does not see writes made through the NFS server or by other clients).
// Another thread can wake it at once (a result is ready).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "safe_fs.hpp"

namespace vgpu::transports::file {

enum class DetectMode { inotify, poll };

// Whether `path` should be polled: it is on NFS, or this host exports it over NFS.
bool should_poll(const std::string& path);

class ChangeWatcher {
 public:
  explicit ChangeWatcher(DetectMode mode);

  DetectMode mode() const { return mode_; }
  // Watches VM `vm_id`'s directory for request.txt and its requests/ for *.req (inotify only).
  void watch(std::uint32_t vm_id, const std::string& vm_path, const std::string& requests_path);
  // Blocks until a watched change, a wake() or the timeout; returns the VMs that changed.
  std::vector<std::uint32_t> wait(std::chrono::milliseconds timeout);
  // Thread-safe.
  void wake();

 private:
  DetectMode mode_;
  Fd inotify_;
  Fd wake_;
  std::unordered_map<int, std::uint32_t> vm_by_watch_;
  std::unordered_map<int, bool> is_requests_dir_;
};

}  // namespace vgpu::transports::file
