#include "vm_directories.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vgpu::transports::file {

namespace {

// Creates a directory path (mode applies to the last part) and returns it opened.
Fd create_path(const std::string& path, mode_t mode) {
  std::error_code ec;
  const bool created = std::filesystem::create_directories(path, ec);
  if (ec) throw FsError(ec.value(), "cannot create " + path + ": " + ec.message());
  Fd fd = open_directory(path);
  if (created) ::fchmod(fd.get(), mode);
  return fd;
}

}  // namespace

DirectoryLayout::DirectoryLayout(std::string root, std::string state, DirectoryOwner owner)
    : root_(std::move(root)), state_(std::move(state)), owner_(owner) {}

void DirectoryLayout::prepare() {
  root_fd_ = create_path(root_, 0711);
  state_fd_ = create_path(state_, 0700);
  // The state holds requests guests must not touch: whatever it was, it is the mediator's now.
  ::fchmod(state_fd_.get(), 0700);
  struct stat root_st {
  }, state_st{};
  ::fstat(root_fd_.get(), &root_st);
  ::fstat(state_fd_.get(), &state_st);
  if (root_st.st_dev != state_st.st_dev)
    throw FsError(EXDEV, "state_dir " + state_ + " is not on the same filesystem as root " + root_ +
                             ": claiming a request is a rename between them");
}

uid_t DirectoryLayout::owner_uid(std::uint32_t vm_id) const {
  return owner_.uid_base ? *owner_.uid_base + vm_id : ::geteuid();
}

gid_t DirectoryLayout::owner_gid(std::uint32_t vm_id) const {
  if (owner_.gid) return *owner_.gid;
  return owner_.uid_base ? *owner_.uid_base + vm_id : ::getegid();
}

Fd DirectoryLayout::guest_directory(int parent, const std::string& name, std::uint32_t vm_id,
                                    const std::string& shown) const {
  make_directory_at(parent, name, vm_mode());
  Fd fd = open_directory_at(parent, name);
  struct stat st {};
  ::fstat(fd.get(), &st);
  const uid_t uid = owner_uid(vm_id);
  const gid_t gid = owner_gid(vm_id);
  if ((st.st_uid != uid || st.st_gid != gid) && ::fchown(fd.get(), uid, gid) != 0)
    throw FsError(errno, "cannot give " + shown + " to uid " + std::to_string(uid) + " gid " +
                             std::to_string(gid) + ": " + std::strerror(errno) +
                             " (per-VM owners need the mediator to run as root)");
  if ((st.st_mode & 07777) != vm_mode()) ::fchmod(fd.get(), vm_mode());
  return fd;
}

VmDirectory DirectoryLayout::open_vm(std::uint32_t vm_id) const {
  VmDirectory d;
  d.vm_id = vm_id;
  d.name = "vm" + std::to_string(vm_id);
  d.vm = guest_directory(root_fd_.get(), d.name, vm_id, root_ + "/" + d.name);
  d.requests = guest_directory(d.vm.get(), "requests", vm_id, d.name + "/requests");
  d.responses = guest_directory(d.vm.get(), "responses", vm_id, d.name + "/responses");
  d.rejected = guest_directory(d.vm.get(), "rejected", vm_id, d.name + "/rejected");
  make_directory_at(state_fd_.get(), d.name, 0700);
  Fd state = open_directory_at(state_fd_.get(), d.name);
  make_directory_at(state.get(), "pending", 0700);
  make_directory_at(state.get(), "running", 0700);
  make_directory_at(state.get(), "outbox", 0700);
  d.pending = open_directory_at(state.get(), "pending");
  d.running = open_directory_at(state.get(), "running");
  d.outbox = open_directory_at(state.get(), "outbox");
  return d;
}

namespace {
// Whether `fd` is still the directory called `name` below `parent`.
bool still_there(int parent, const std::string& name, const Fd& fd) {
  struct stat held {};
  if (!fd || ::fstat(fd.get(), &held) != 0) return false;
  auto now = stat_at(parent, name);
  return now && S_ISDIR(now->st_mode) && now->st_dev == held.st_dev && now->st_ino == held.st_ino;
}
}  // namespace

bool DirectoryLayout::refresh(VmDirectory& vm) const {
  bool changed = false;
  for (auto [fd, name] :
       {std::pair{&vm.requests, "requests"}, std::pair{&vm.responses, "responses"},
        std::pair{&vm.rejected, "rejected"}}) {
    if (still_there(vm.vm.get(), name, *fd)) continue;
    *fd = guest_directory(vm.vm.get(), name, vm.vm_id, vm.name + "/" + name);
    changed = true;
  }
  return changed;
}

std::vector<std::uint32_t> DirectoryLayout::vms_with_state() const {
  std::vector<std::uint32_t> ids;
  for (const auto& name : list_directory(state_fd_.get())) {
    if (name.size() < 3 || name.compare(0, 2, "vm") != 0) continue;
    try {
      std::size_t used = 0;
      const auto id = std::stoul(name.substr(2), &used);
      if (used == name.size() - 2) ids.push_back(static_cast<std::uint32_t>(id));
    } catch (const std::exception&) {
    }
  }
  return ids;
}

}  // namespace vgpu::transports::file
