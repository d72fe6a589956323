// The file transport's life: start, the watching thread, the VMs' folders as the DB changes;
// and the per-VM reply channel. Requests: file_requests.cpp; responses: file_answers.cpp; after
// a restart: file_recovery.cpp.
#include "file_transport.hpp"

#include <algorithm>
#include <cerrno>

namespace vgpu::transports::file {

namespace spool = vgpu::spool;
using namespace std::chrono_literals;

// ---- CompletionQueue / VmChannel ---------------------------------------------------------

void CompletionQueue::push(Item item) {
  std::lock_guard lock(mutex_);
  if (detached_) return;
  items_.push_back(std::move(item));
  watcher_.wake();
}

std::vector<CompletionQueue::Item> CompletionQueue::take_all() {
  std::lock_guard lock(mutex_);
  return std::exchange(items_, {});
}

void CompletionQueue::detach() {
  std::lock_guard lock(mutex_);
  detached_ = true;
}

void VmChannel::expect(std::uint64_t tag, InFlight request) {
  std::lock_guard lock(mutex_);
  keys_.insert(request.key);
  requests_.emplace(tag, std::move(request));
}

std::optional<InFlight> VmChannel::take(std::uint64_t tag) {
  std::lock_guard lock(mutex_);
  auto it = requests_.find(tag);
  if (it == requests_.end()) return std::nullopt;
  InFlight out = std::move(it->second);
  requests_.erase(it);
  keys_.erase(out.key);
  return out;
}

std::size_t VmChannel::in_flight() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

bool VmChannel::has_key(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return keys_.count(key) != 0;
}

void VmChannel::started(std::uint64_t tag) {
  std::string key;
  {
    std::lock_guard lock(mutex_);
    auto it = requests_.find(tag);
    if (it == requests_.end()) return;
    key = it->second.key;
  }
  try {
    mark_running(dir_, key);
  } catch (const FsError& e) {
    // The job runs anyway; after a crash it would be run again, so say so.
    log_.error(std::string("file: cannot record the start of a request: ") + e.what());
  }
}

void VmChannel::deliver(std::uint64_t tag, sdk::JobResult result) {
  queue_->push({dir_.vm_id, tag, std::move(result)});
}

// ---- FileTransport -----------------------------------------------------------------------

FileTransport::FileTransport(FileTransportSettings settings, sdk::Logger& log,
                             sdk::Metrics& metrics)
    : settings_(std::move(settings)),
      log_(log),
      metrics_(metrics),
      layout_(settings_.root, settings_.state_dir, settings_.owner) {}

FileTransport::~FileTransport() {
  stop();
}

std::vector<std::string> FileTransport::endpoints() const {
  const bool polling = watcher_ && watcher_->mode() == DetectMode::poll;
  return {"file://" + settings_.root +
          (polling ? " (polling every " + std::to_string(settings_.poll_interval.count()) + " ms)"
                   : " (inotify)")};
}

void FileTransport::start(sdk::Sink& sink) {
  sink_ = &sink;
  layout_.prepare();
  DetectMode mode = settings_.detect.value_or(should_poll(settings_.root) ? DetectMode::poll
                                                                          : DetectMode::inotify);
  try {
    watcher_ = std::make_unique<ChangeWatcher>(mode);
  } catch (const FsError& e) {
    log_.warn(std::string("file: ") + e.what() + "; polling instead");
    watcher_ = std::make_unique<ChangeWatcher>(DetectMode::poll);
  }
  completions_ = std::make_shared<CompletionQueue>(*watcher_);
  // Whatever an earlier run left is handled before anything new: its requests are older.
  for (auto vm_id : layout_.vms_with_state())
    if (Vm* vm = open_vm(vm_id)) recover(*vm);
  sync_vms();
  thread_ = std::thread([this] { run(); });
}

void FileTransport::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  watcher_->wake();
  thread_.join();
  completions_->detach();
  if (!unwritten_.empty())
    log_.error("file: " + std::to_string(unwritten_.size()) +
               " responses could not be delivered before stopping: those staged in a VM's "
               "outbox are delivered at the next start, any kept in memory (a full disk) are "
               "answered 'interrupted' then");
}

void FileTransport::run() {
  auto next_full_scan = std::chrono::steady_clock::now();
  const auto full_scan_every =
      watcher_->mode() == DetectMode::poll ? settings_.poll_interval : settings_.rescan_interval;
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    const auto until = std::min(next_full_scan, next_revisit_);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - now) + 1ms;
    const auto changed = watcher_->wait(until <= now ? 0ms : wait);
    drain_completions();
    if (stopping_) break;
    const auto after = std::chrono::steady_clock::now();
    if (after >= next_full_scan || after >= next_revisit_) {
      next_revisit_ = SteadyTime::max();
      retry_unwritten();
      sync_vms();
      for (auto& [id, vm] : vms_) scan(*vm);
      next_full_scan = after + full_scan_every;
    } else {
      for (auto id : changed)
        if (auto it = vms_.find(id); it != vms_.end()) scan(*it->second);
    }
  }
  drain_completions();
}

FileTransport::Vm* FileTransport::open_vm(std::uint32_t vm_id) {
  if (auto it = vms_.find(vm_id); it != vms_.end()) return it->second.get();
  auto vm = std::make_unique<Vm>();
  try {
    vm->dir = layout_.open_vm(vm_id);
    const std::string path = settings_.root + "/" + vm->dir.name;
    watcher_->watch(vm_id, path, path + "/requests");
  } catch (const FsError& e) {
    if (failed_vms_.insert(vm_id).second)
      log_.error(std::string("file: cannot prepare the directory of vm_id ") +
                 std::to_string(vm_id) + ": " + e.what());
    return nullptr;
  }
  failed_vms_.erase(vm_id);
  vm->channel = std::make_shared<VmChannel>(vm->dir, completions_, log_);
  log_.info("file: serving " + settings_.root + "/" + vm->dir.name);
  return vms_.emplace(vm_id, std::move(vm)).first->second.get();
}

void FileTransport::sync_vms() {
  const auto registered = sink_->registered_vms();
  for (auto vm_id : registered) open_vm(vm_id);
  // A VM removed from the config DB is no longer served: its directory handles close once
  // nothing of it is in flight or waiting to be written (soak testing found them held forever).
  const std::set<std::uint32_t> still(registered.begin(), registered.end());
  for (auto it = vms_.begin(); it != vms_.end();) {
    const bool waiting = std::any_of(unwritten_.begin(), unwritten_.end(),
                                     [&](const Unwritten& u) { return u.vm_id == it->first; });
    if (still.count(it->first) || it->second->channel->in_flight() || waiting) {
      ++it;
      continue;
    }
    log_.info("file: " + it->second->dir.name + " is no longer registered; not served");
    it = vms_.erase(it);
  }
}

bool FileTransport::refresh(Vm& vm) {
  try {
    if (layout_.refresh(vm.dir)) {
      const std::string path = settings_.root + "/" + vm.dir.name;
      watcher_->watch(vm.dir.vm_id, path, path + "/requests");
      log_.info("file: " + vm.dir.name + ": reopened the directories its guest replaced");
    }
    if (broken_vms_.erase(vm.dir.vm_id)) log_.info("file: " + vm.dir.name + " is served again");
    return true;
  } catch (const FsError& e) {
    if (broken_vms_.insert(vm.dir.vm_id).second)
      log_.error("file: " + vm.dir.name +
                 " is not served until its directories are usable: " + e.what());
    return false;
  }
}

}  // namespace vgpu::transports::file
