// The file transport's way out: results staged in the VM's outbox, then renamed where the guest
// looks; what the disk refused is kept and retried.
#include "file_transport.hpp"

#include <algorithm>
#include <cerrno>

namespace vgpu::transports::file {

namespace spool = vgpu::spool;

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
