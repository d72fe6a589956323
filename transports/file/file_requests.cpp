// The file transport's way in: noticing complete requests of both protocols (the original
// request.txt, the spool's .req files), claiming them, checking who sent them, and submitting
// them or refusing them with a response.
#include "file_transport.hpp"

#include <algorithm>
#include <cerrno>

#include "identity_check.hpp"
#include "vgpu/protocol/op_names.hpp"

namespace vgpu::transports::file {

namespace spool = vgpu::spool;

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
    return refuse(vm, key, "", {}, sdk::Status::bad_request, why,
                  ResolvedVm::unresolved(vm.dir.vm_id));
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

}  // namespace vgpu::transports::file
