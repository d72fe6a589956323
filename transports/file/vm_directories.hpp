// The shared root's layout (docs/protocol.md, "File transport") and its permissions:
//
//   <root>/               0711: VMs may pass through, not list
//     vm<N>/              VM N's own: 0700 (0770 with a group), owned by uid_base+N when set
//       request.txt       original protocol, written by the guest
//       response.txt      original protocol, written by the mediator
//       requests/         spool: <name>.req renamed in, payload files beside it
//       responses/        spool: <name>.res renamed in by the mediator, outputs beside it
//       rejected/         requests the mediator could not read, with the reason
//   <state>/vm<N>/        the mediator's own (0700, never exported)
//       pending/          claimed requests that have not started
//       running/          requests handed to the executor
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "safe_fs.hpp"

namespace vgpu::transports::file {

struct DirectoryOwner {
  std::optional<uid_t> uid_base;  // VM N's directory belongs to uid_base + N
  std::optional<gid_t> gid;       // and to this group (then group members may enter it too)
};

// Open handles on one VM's directories.
struct VmDirectory {
  std::uint32_t vm_id = 0;
  std::string name;  // "vm<N>", for messages
  Fd vm, requests, responses, rejected;
  Fd pending, running;
  // Responses are written here first (the mediator's own, like pending/ and running/), then
  // renamed into the guest's directory: a response that cannot be delivered yet waits on disk.
  Fd outbox;
};

class DirectoryLayout {
 public:
  DirectoryLayout(std::string root, std::string state, DirectoryOwner owner);

  // Creates the root and the state directory when missing; refuses a state directory on another
  // filesystem (claiming a request is a rename between the two).
  void prepare();
  // Creates VM N's directories when missing and corrects their owner and mode; returns handles.
  VmDirectory open_vm(std::uint32_t vm_id) const;
  // A guest owns its directory and may remove or replace requests/, responses/ or rejected/.
  // Reopens (re-creating when missing) every one whose handle no longer is the directory of
  // that name; true when any was, so the caller watches the new requests/.
  bool refresh(VmDirectory& vm) const;
  // VMs that have something in the state directory (for recovery after a restart).
  std::vector<std::uint32_t> vms_with_state() const;

  const std::string& root() const { return root_; }
  const std::string& state() const { return state_; }
  uid_t owner_uid(std::uint32_t vm_id) const;
  gid_t owner_gid(std::uint32_t vm_id) const;
  mode_t vm_mode() const { return owner_.gid ? 0770 : 0700; }

 private:
  Fd guest_directory(int parent, const std::string& name, std::uint32_t vm_id,
                     const std::string& shown) const;

  std::string root_;
  std::string state_;
  DirectoryOwner owner_;
  Fd root_fd_;
  Fd state_fd_;
};

}  // namespace vgpu::transports::file
