#include "file_transport.hpp"

#include <algorithm>
#include <cerrno>

#include "identity_check.hpp"
#include "vgpu/protocol/op_names.hpp"

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

void FileTransport::recover(Vm& vm) {
  for (const auto& claimed : list_claimed(vm.dir)) {
    if (claimed.stage == Stage::pending) {
      // Never started: run it now, as if it had just arrived.
      metrics_.add("file.resumed", 1);
      take_claimed(vm, claimed.key);
      continue;
    }
    // It may have run, completely or partly: never run it twice. A response staged in the
    // outbox before the stop is delivered now.
    if (has_staged_response(vm, claimed.key)) {
      InFlight request{claimed.key, "", {}, {vm.dir.vm_id, "", 1, ""}};
      if (refresh(vm) && publish_response(vm, request))
        finish(vm, request);
      else
        unwritten_.push_back({vm.dir.vm_id, std::move(request), std::nullopt});
      continue;
    }
    // Unless its response made it to disk before the stop, say that it was interrupted.
    bool answered = false;
    if (kind_of(claimed.key) == RequestKind::spool) {
      answered = stat_at(vm.dir.responses.get(),
                         spool_name_of(claimed.key) + std::string(spool::kResponseSuffix))
                     .has_value();
    } else {
      try {
        answered = read_text_at(vm.dir.vm.get(), "response.txt", spool::kMaxRequestFileBytes, "")
                       .find("request: " + claimed.key + "\n") != std::string::npos;
      } catch (const FsError&) {
      }
    }
    if (answered) {
      release(vm.dir, claimed.key);
      continue;
    }
    metrics_.add("file.interrupted", 1);
    InFlight request{claimed.key, "", {}, {vm.dir.vm_id, "", 1, ""}};
    log_.warn("file: " + vm.dir.name + " request " + claimed.key +
              " was running when the mediator stopped; answered 'interrupted', not run again");
    answer(vm.dir.vm_id, std::move(request),
           sdk::JobResult::failure(sdk::Status::execution_error,
                                   "interrupted: the mediator stopped while this job was running; "
                                   "it was not run again (submit it anew if it must run)"));
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

void FileTransport::scan(Vm& vm) {
  if (!refresh(vm)) return;
  if (settings_.compat) scan_compat(vm);
  if (settings_.spool) scan_spool(vm);
}

bool FileTransport::revisit_later(SystemTime written, std::chrono::milliseconds quiet_for) {
  const auto quiet_at = written + quiet_for;
  const auto now = std::chrono::system_clock::now();
  if (now >= quiet_at) return false;
  next_revisit_ = std::min(next_revisit_, std::chrono::steady_clock::now() + (quiet_at - now));
  return true;
}

namespace {

std::chrono::system_clock::time_point mtime_of(const struct stat& st) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

// Completeness shows in a request's last bytes (a final newline, an `end` line): only those are
// read before the claim; the whole file is read once, after it.
constexpr std::size_t kTailBytes = 16;

}  // namespace

void FileTransport::scan_compat(Vm& vm) {
  const int dir = vm.dir.vm.get();
  auto st = stat_at(dir, "request.txt");
  if (!st) return;
  // A regular file is taken once complete: its line ends, or it stayed unchanged for a while
  // (the original client may not end the line). Anything else is claimed and refused at once.
  if (S_ISREG(st->st_mode) && st->st_size <= std::int64_t(spool::kMaxRequestFileBytes)) {
    try {
      const auto tail = read_tail_at(dir, "request.txt", kTailBytes, "");
      if (!spool::compat_complete(tail) && revisit_later(mtime_of(*st), settings_.compat_settle))
        return;
    } catch (const FsError& e) {
      if (e.code() == ENOENT) return;
    }
  }
  // Keys sort in arrival order, across restarts too: the clock, made strictly increasing.
  const auto now_ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  compat_sequence_ = std::max(compat_sequence_ + 1, now_ns);
  const std::string key = compat_key(compat_sequence_);
  try {
    claim(vm.dir, dir, "request.txt", key);
  } catch (const FsError& e) {
    if (e.code() != ENOENT) log_.error(std::string("file: ") + e.what());
    return;
  }
  take_claimed(vm, key);
}

void FileTransport::scan_spool(Vm& vm) {
  const int dir = vm.dir.requests.get();
  for (const auto& file : list_directory(dir)) {
    if (!file.ends_with(spool::kRequestSuffix) || file.front() == '.') continue;
    const std::string name = file.substr(0, file.size() - spool::kRequestSuffix.size());
    const std::string shown = vm.dir.name + "/requests/" + file;
    if (!spool::valid_name(name)) {
      // No response can be named after it safely; the note in rejected/ says why.
      set_aside(vm, file,
                shown +
                    ": request names may use letters, digits, '.', '_' and '-' "
                    "(at most 128), and must not start with '.'");
      continue;
    }
    const std::string key = spool_key(name);
    if (vm.channel->has_key(key)) {
      set_aside(vm, file, shown + ": a request with this name is still in flight");
      continue;
    }
    auto st = stat_at(dir, file);
    if (!st) continue;
    if (S_ISREG(st->st_mode) && st->st_size <= std::int64_t(spool::kMaxRequestFileBytes)) {
      try {
        const auto tail = read_tail_at(dir, file, kTailBytes, shown);
        // Renamed in whole it ends with `end`; a writer that did not rename gets time to finish.
        if (!spool::request_complete(tail) &&
            revisit_later(mtime_of(*st), settings_.partial_timeout))
          continue;
      } catch (const FsError& e) {
        if (e.code() == ENOENT) continue;
      }
    }
    try {
      claim(vm.dir, dir, file, key);
    } catch (const FsError& e) {
      if (e.code() != ENOENT) log_.error(std::string("file: ") + e.what());
      continue;
    }
    take_claimed(vm, key);
  }
}

void FileTransport::set_aside(Vm& vm, const std::string& file, const std::string& why) {
  try {
    move_aside(vm.dir, vm.dir.requests.get(), file, file, why);
  } catch (const FsError& e) {
    log_.error(std::string("file: cannot move a request aside: ") + e.what());
  }
  log_.warn("file: " + why);
  metrics_.add("file.rejected", 1);
}

void FileTransport::take_claimed(Vm& vm, const std::string& key) {
  metrics_.add("file.requests", 1);
  std::string text;
  const bool compat = kind_of(key) == RequestKind::compat;
  const std::string shown =
      vm.dir.name + (compat ? "/request.txt" : "/requests/" + spool_name_of(key) + ".req");
  try {
    text = read_text_at(vm.dir.pending.get(), key, spool::kMaxRequestFileBytes, shown);
  } catch (const FsError& e) {
    std::string why = e.what();
    if (e.code() == EFBIG) why += " (send data in payload files)";
    return refuse(vm, key, "", {}, sdk::Status::bad_request, why, {vm.dir.vm_id, "", 1, ""});
  }
  if (compat)
    take_compat(vm, key, text);
  else
    take_spool(vm, key, text);
}

std::optional<ResolvedVm> FileTransport::check_identity(Vm& vm,
                                                        const spool::ClaimedIdentity& claimed,
                                                        std::string& why) {
  auto verdict = check_request_identity(*sink_, vm.dir, settings_.root, claimed);
  if (verdict.spoofed) {
    // Refused, never scheduled as claimed; counted so an operator sees a guest trying.
    metrics_.add("file.spoofed", 1);
    log_.warn("file: " + vm.dir.name + ": " + verdict.why);
  }
  why = std::move(verdict.why);
  return verdict.who;
}

void FileTransport::take_compat(Vm& vm, const std::string& key, const std::string& text) {
  const auto unknown = ResolvedVm::unresolved(vm.dir.vm_id);
  spool::CompatRequest parsed;
  try {
    parsed = spool::decode_compat_request(text);
  } catch (const spool::FormatError& e) {
    return refuse(vm, key, "", {}, sdk::Status::bad_request, e.what(), unknown);
  }
  auto op = protocol::from_legacy_command(parsed.command);
  std::string why;
  auto who = check_identity(vm, {parsed.pool, parsed.priority, parsed.vm_id}, why);
  if (!who) return refuse(vm, key, "", {}, sdk::Status::unauthenticated, why, unknown);
  if (!op)
    return refuse(vm, key, parsed.command, {}, sdk::Status::unknown_op,
                  "unknown command '" + parsed.command + "'", *who);
  sdk::SubmitRequest submit;
  submit.op = *op;
  submit.params = std::move(parsed.params);
  this->submit(vm, InFlight{key, *op, {}, *who}, std::move(submit));
}

void FileTransport::take_spool(Vm& vm, const std::string& key, const std::string& text) {
  const auto unknown = ResolvedVm::unresolved(vm.dir.vm_id);
  spool::Request parsed;
  try {
    parsed = spool::decode_request(text);
  } catch (const spool::FormatError& e) {
    return refuse(vm, key, "", {}, sdk::Status::bad_request,
                  vm.dir.name + "/requests/" + spool_name_of(key) + ".req: " + e.what(), unknown);
  }
  std::string why;
  auto who = check_identity(vm, parsed.claimed, why);
  if (!who)
    return refuse(vm, key, parsed.op, parsed.input_files, sdk::Status::unauthenticated, why,
                  unknown);
  sdk::SubmitRequest submit;
  submit.op = parsed.op;
  submit.params = std::move(parsed.params);
  if (parsed.deadline_ms) submit.deadline = std::chrono::milliseconds(parsed.deadline_ms);
  std::size_t budget = sink_->max_frame_bytes();
  for (const auto& input : parsed.input_files) {
    try {
      submit.inputs.push_back(
          read_bytes_at(vm.dir.requests.get(), input, budget, vm.dir.name + "/requests/" + input));
      budget -= submit.inputs.back().size();
    } catch (const FsError& e) {
      std::string reason = e.what();
      if (e.code() == ENOENT)
        reason = "input file " + input + " named by " + spool_name_of(key) +
                 ".req is missing from " + vm.dir.name + "/requests/";
      else if (e.code() == EFBIG)
        reason += " (the inputs of one request may total " +
                  std::to_string(sink_->max_frame_bytes()) + " bytes)";
      return refuse(vm, key, parsed.op, parsed.input_files, sdk::Status::bad_request, reason, *who);
    }
  }
  this->submit(vm, InFlight{key, parsed.op, parsed.input_files, *who}, std::move(submit));
}

void FileTransport::refuse(Vm& vm, const std::string& key, const std::string& op,
                           const std::vector<std::string>& inputs, sdk::Status status,
                           const std::string& why, const ResolvedVm& who) {
  metrics_.add("file.refused", 1);
  log_.warn("file: " + vm.dir.name + " request refused: " + why);
  // The request's files go aside, so nothing is lost and nothing is tried again.
  try {
    const bool compat = kind_of(key) == RequestKind::compat;
    move_aside(vm.dir, vm.dir.pending.get(), key,
               compat ? "request.txt" : spool_name_of(key) + std::string(spool::kRequestSuffix),
               why);
    for (const auto& input : inputs)
      if (stat_at(vm.dir.requests.get(), input))
        move_aside(vm.dir, vm.dir.requests.get(), input, input,
                   "input of the refused request " + spool_name_of(key));
  } catch (const FsError& e) {
    log_.error(std::string("file: cannot move a refused request aside: ") + e.what());
  }
  answer(vm.dir.vm_id, InFlight{key, op, {}, who}, sdk::JobResult::failure(status, why));
}

void FileTransport::submit(Vm& vm, InFlight request, sdk::SubmitRequest submit) {
  const std::uint64_t tag = vm.next_tag++;
  submit.client_tag = tag;
  vm.channel->expect(tag, std::move(request));
  sink_->submit(vm.dir.vm_id, std::move(submit), vm.channel);
}

void FileTransport::drain_completions() {
  for (auto& item : completions_->take_all()) {
    auto it = vms_.find(item.vm_id);
    if (it == vms_.end()) continue;
    auto request = it->second->channel->take(item.tag);
    if (!request) continue;
    if (item.result.status == sdk::Status::shutting_down) {
      // Never started: its claim stays in pending/ and it runs after the next start.
      metrics_.add("file.kept_for_restart", 1);
      continue;
    }
    answer(item.vm_id, std::move(*request), std::move(item.result));
  }
}

void FileTransport::answer(std::uint32_t vm_id, InFlight request, sdk::JobResult result) {
  auto it = vms_.find(vm_id);
  if (it == vms_.end()) return;
  Vm& vm = *it->second;
  if (!stage_response(vm, request, result)) {
    unwritten_.push_back({vm_id, std::move(request), std::move(result)});
    metrics_.add("file.responses_unwritten", 1);
    return;
  }
  if (!refresh(vm) || !publish_response(vm, request)) {
    unwritten_.push_back({vm_id, std::move(request), std::nullopt});
    metrics_.add("file.responses_unwritten", 1);
    return;
  }
  finish(vm, request);
}

void FileTransport::finish(Vm& vm, const InFlight& request) {
  release(vm.dir, request.key);
  for (const auto& input : request.inputs) {
    try {
      remove_at(vm.dir.requests.get(), input);
    } catch (const FsError&) {
      // The guest's own requests/ may be gone or replaced: nothing of ours is left there.
    }
  }
}

namespace {
// The outbox name of a compat response (its final name, response.txt, is the same for all).
std::string staged_compat_name(const std::string& key) {
  return "compat-" + key + ".txt";
}
}  // namespace

bool FileTransport::stage_response(Vm& vm, const InFlight& request, const sdk::JobResult& result) {
  const int outbox = vm.dir.outbox.get();
  try {
    if (kind_of(request.key) == RequestKind::compat) {
      write_text_atomically_at(outbox, staged_compat_name(request.key),
                               compat_response_text(request.key, request.op, result, request.vm),
                               settings_.fsync, "the outbox of " + vm.dir.name);
      return true;
    }
    const std::string name = spool_name_of(request.key);
    for (std::size_t i = 0; i < result.outputs.size(); ++i)
      write_atomically_at(outbox, output_file_name(name, i),
                          {{result.outputs[i].data(), result.outputs[i].size()}}, settings_.fsync,
                          "the outbox of " + vm.dir.name);
    write_text_atomically_at(outbox, name + std::string(spool::kResponseSuffix),
                             spool::encode_response(spool_response(name, result, request.vm)),
                             settings_.fsync, "the outbox of " + vm.dir.name);
    return true;
  } catch (const FsError& e) {
    log_.error(std::string("file: ") + e.what() +
               (e.code() == ENOSPC ? "; the result is kept in memory and written once there is "
                                     "space"
                                   : "; the result is kept in memory and retried"));
    return false;
  }
}

bool FileTransport::publish_response(Vm& vm, const InFlight& request) {
  const int outbox = vm.dir.outbox.get();
  try {
    if (kind_of(request.key) == RequestKind::compat) {
      rename_at(outbox, staged_compat_name(request.key), vm.dir.vm.get(), "response.txt",
                vm.dir.name + "/response.txt");
      return true;
    }
    // Outputs first, the .res last: once a guest sees the .res, everything it names is there.
    // A file already moved by an earlier try is skipped.
    const std::string name = spool_name_of(request.key);
    for (std::size_t i = 0;; ++i) {
      const auto file = output_file_name(name, i);
      if (!stat_at(outbox, file)) {
        if (stat_at(vm.dir.responses.get(), file)) continue;
        break;
      }
      rename_at(outbox, file, vm.dir.responses.get(), file, vm.dir.name + "/responses/" + file);
    }
    const std::string res = name + std::string(spool::kResponseSuffix);
    rename_at(outbox, res, vm.dir.responses.get(), res, vm.dir.name + "/responses/" + res);
    return true;
  } catch (const FsError& e) {
    log_limiter_.warn(log_, std::string("file: ") + e.what() +
                                "; the response waits in the mediator's outbox and is retried");
    return false;
  }
}

bool FileTransport::has_staged_response(Vm& vm, const std::string& key) {
  const std::string staged = kind_of(key) == RequestKind::compat
                                 ? staged_compat_name(key)
                                 : spool_name_of(key) + std::string(spool::kResponseSuffix);
  return stat_at(vm.dir.outbox.get(), staged).has_value();
}

void FileTransport::retry_unwritten() {
  auto pending = std::exchange(unwritten_, {});
  for (auto& item : pending) {
    auto it = vms_.find(item.vm_id);
    if (it == vms_.end()) continue;
    Vm& vm = *it->second;
    if (item.result) {
      if (!stage_response(vm, item.request, *item.result)) {
        unwritten_.push_back(std::move(item));
        continue;
      }
      item.result.reset();  // on disk now: memory is given back
    }
    if (refresh(vm) && publish_response(vm, item.request)) {
      log_.info("file: " + vm.dir.name + ": a delayed response is written now");
      finish(vm, item.request);
    } else {
      unwritten_.push_back(std::move(item));
    }
  }
}

}  // namespace vgpu::transports::file
