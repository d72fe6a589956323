#include "change_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <set>

namespace vgpu::transports::file {

namespace {

constexpr long kNfsSuperMagic = 0x6969;

// Whether /var/lib/nfs/etab (the kernel server's live export table) exports `path` or a parent.
bool exported_over_nfs(const std::string& path) {
  std::ifstream etab("/var/lib/nfs/etab");
  std::string line;
  while (std::getline(etab, line)) {
    const auto export_path = line.substr(0, line.find_first_of(" \t"));
    if (export_path.empty()) continue;
    if (path == export_path || path.compare(0, export_path.size() + 1, export_path + "/") == 0 ||
        export_path.compare(0, path.size() + 1, path + "/") == 0)
      return true;
  }
  return false;
}

}  // namespace

bool should_poll(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kNfsSuperMagic)
    return true;
  return exported_over_nfs(path);
}

ChangeWatcher::ChangeWatcher(DetectMode mode) : mode_(mode) {
  wake_ = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) throw FsError(errno, std::string("eventfd: ") + std::strerror(errno));
  if (mode_ == DetectMode::inotify) {
    inotify_ = Fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify_) throw FsError(errno, std::string("inotify_init1: ") + std::strerror(errno));
  }
}

void ChangeWatcher::watch(std::uint32_t vm_id, const std::string& vm_path,
                          const std::string& requests_path) {
  if (mode_ != DetectMode::inotify) return;
  // A request is complete when its writer closes it or renames it in.
  constexpr std::uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW;
  for (const auto* path : {&vm_path, &requests_path}) {
    const int wd = ::inotify_add_watch(inotify_.get(), path->c_str(), kEvents);
    if (wd < 0)
      throw FsError(errno, "cannot watch " + *path + " with inotify: " + std::strerror(errno) +
                               " (set detect: poll)");
    vm_by_watch_[wd] = vm_id;
    is_requests_dir_[wd] = path == &requests_path;
  }
}

std::vector<std::uint32_t> ChangeWatcher::wait(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {inotify_.get(), POLLIN, 0}};
  const int count = inotify_ ? 2 : 1;
  const int ms = static_cast<int>(std::clamp<long long>(timeout.count(), 0, INT_MAX));
  if (::poll(fds, count, ms) <= 0) return {};
  std::set<std::uint32_t> changed;
  if (fds[0].revents & POLLIN) {
    std::uint64_t ignored = 0;
    [[maybe_unused]] auto n = ::read(wake_.get(), &ignored, sizeof ignored);
  }
  if (count == 2 && (fds[1].revents & POLLIN)) {
    alignas(inotify_event) char buf[16 * 1024];
    for (;;) {
      const auto n = ::read(inotify_.get(), buf, sizeof buf);
      if (n <= 0) break;
      for (char* p = buf; p < buf + n;) {
        auto* e = reinterpret_cast<inotify_event*>(p);
        p += sizeof(inotify_event) + e->len;
        auto vm = vm_by_watch_.find(e->wd);
        if (vm == vm_by_watch_.end()) continue;
        if (e->mask & IN_IGNORED) {
          // The directory is gone (a guest replaced it): forget its watch, so replacing it
          // again and again grows nothing here. The new one is watched when it is reopened.
          vm_by_watch_.erase(vm);
          is_requests_dir_.erase(e->wd);
          continue;
        }
        if (e->mask & IN_Q_OVERFLOW) continue;
        const std::string name = e->len ? e->name : "";
        // Only what a guest writes counts; the mediator's own response files do not.
        const bool relevant =
            is_requests_dir_[e->wd] ? name.ends_with(".req") : name == "request.txt";
        if (relevant) changed.insert(vm->second);
      }
    }
  }
  return {changed.begin(), changed.end()};
}

void ChangeWatcher::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
}

}  // namespace vgpu::transports::file
