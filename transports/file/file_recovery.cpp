// The file transport after a restart: requests claimed before the stop are run (never started)
// or answered "interrupted" (may have run), never run twice; staged responses are delivered.
#include "file_transport.hpp"

#include <algorithm>
#include <cerrno>

namespace vgpu::transports::file {

namespace spool = vgpu::spool;

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
      InFlight request{claimed.key, "", {}, ResolvedVm::unresolved(vm.dir.vm_id)};
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
    InFlight request{claimed.key, "", {}, ResolvedVm::unresolved(vm.dir.vm_id)};
    log_.warn("file: " + vm.dir.name + " request " + claimed.key +
              " was running when the mediator stopped; answered 'interrupted', not run again");
    answer(vm.dir.vm_id, std::move(request),
           sdk::JobResult::failure(sdk::Status::execution_error,
                                   "interrupted: the mediator stopped while this job was running; "
                                   "it was not run again (submit it anew if it must run)"));
  }
}

}  // namespace vgpu::transports::file
