// The on-disk life of a request, which is what makes it run exactly once across restarts: the
// guest's file is claimed by renaming it into the state's pending/, renamed into running/ just
// before the executor gets it, and removed once its response is written. After a crash, a file
// in pending/ never started (run it), one in running/ may have (answer "interrupted", never run
// it again). Renames are atomic, so a file is always in exactly one place.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "vm_directories.hpp"

namespace vgpu::transports::file {

enum class RequestKind { compat, spool };
enum class Stage { pending, running };

// Keys name claimed requests in the state directory: "s.<name>" for spool requests (the guest's
// name without .req), "c.<sequence>" for request.txt.
std::string spool_key(const std::string& name);
std::string compat_key(std::uint64_t sequence);
RequestKind kind_of(const std::string& key);
std::string spool_name_of(const std::string& key);

struct ClaimedRequest {
  std::string key;
  Stage stage = Stage::pending;
  struct timespec mtime {};
};

// Renames `name` in `from_dir` into pending/ as `key`.
void claim(const VmDirectory& vm, int from_dir, const std::string& name, const std::string& key);
// pending/ → running/. Called on the scheduler thread right before the job runs.
void mark_running(const VmDirectory& vm, const std::string& key);
// The request is answered: forget it wherever it is.
void release(const VmDirectory& vm, const std::string& key);
// What a previous run left, oldest first (the order the guest wrote them).
std::vector<ClaimedRequest> list_claimed(const VmDirectory& vm);
// Moves a file the mediator cannot use into rejected/ as `target` (never overwriting an earlier
// one: .1, .2, … are appended) with a `.why` note beside it. Returns the name it got there.
std::string move_aside(const VmDirectory& vm, int from_dir, const std::string& name,
                       const std::string& target, const std::string& reason);

}  // namespace vgpu::transports::file
