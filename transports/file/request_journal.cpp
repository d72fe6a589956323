#include "request_journal.hpp"

#include <algorithm>
#include <cstdio>

namespace vgpu::transports::file {

std::string spool_key(const std::string& name) {
  return "s." + name;
}

std::string compat_key(std::uint64_t sequence) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(sequence));
  return std::string("c.") + digits;
}

RequestKind kind_of(const std::string& key) {
  return key.compare(0, 2, "c.") == 0 ? RequestKind::compat : RequestKind::spool;
}

std::string spool_name_of(const std::string& key) {
  return key.substr(2);
}

void claim(const VmDirectory& vm, int from_dir, const std::string& name, const std::string& key) {
  rename_at(from_dir, name, vm.pending.get(), key, vm.name + "/" + name);
}

void mark_running(const VmDirectory& vm, const std::string& key) {
  rename_at(vm.pending.get(), key, vm.running.get(), key, "state " + vm.name + "/pending/" + key);
}

void release(const VmDirectory& vm, const std::string& key) {
  remove_at(vm.running.get(), key);
  remove_at(vm.pending.get(), key);
}

std::vector<ClaimedRequest> list_claimed(const VmDirectory& vm) {
  std::vector<ClaimedRequest> out;
  for (auto [fd, stage] :
       {std::pair{vm.pending.get(), Stage::pending}, std::pair{vm.running.get(), Stage::running}}) {
    for (const auto& key : list_directory(fd)) {
      if (key.compare(0, 2, "s.") != 0 && key.compare(0, 2, "c.") != 0) continue;
      auto st = stat_at(fd, key);
      if (!st) continue;
      out.push_back({key, stage, st->st_mtim});
    }
  }
  std::sort(out.begin(), out.end(), [](const ClaimedRequest& a, const ClaimedRequest& b) {
    if (a.mtime.tv_sec != b.mtime.tv_sec) return a.mtime.tv_sec < b.mtime.tv_sec;
    if (a.mtime.tv_nsec != b.mtime.tv_nsec) return a.mtime.tv_nsec < b.mtime.tv_nsec;
    return a.key < b.key;
  });
  return out;
}

std::string move_aside(const VmDirectory& vm, int from_dir, const std::string& name,
                       const std::string& wanted, const std::string& reason) {
  std::string target = wanted;
  for (int n = 1; stat_at(vm.rejected.get(), target); ++n)
    target = wanted + "." + std::to_string(n);
  rename_at(from_dir, name, vm.rejected.get(), target, vm.name + "/" + name);
  try {
    write_text_atomically_at(vm.rejected.get(), target + ".why", reason + "\n", false,
                             vm.name + "/rejected/" + target + ".why");
  } catch (const FsError&) {
    // The file is aside already; the note is a courtesy (the log says the same).
  }
  return target;
}

}  // namespace vgpu::transports::file
