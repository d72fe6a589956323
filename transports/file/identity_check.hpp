// Who a request in a VM's directory belongs to: the directory proves the VM (only VM N reaches
// vm<N>/), the config DB says its pool and priority, and anything the request itself states
// (the original protocol's pool:priority:vm_id, a spool file's vm_id=/pool=/priority=) must
// agree with both. A claim is stated, never trusted.
#pragma once

#include <optional>
#include <string>

#include "responses.hpp"
#include "vgpu/protocol/spool.hpp"
#include "vgpu/sdk/transport.hpp"
#include "vm_directories.hpp"

namespace vgpu::transports::file {

struct IdentityVerdict {
  std::optional<ResolvedVm> who;  // set when the request may run as this VM
  std::string why;                // otherwise: the reason, for the response
  bool spoofed = false;           // the DB accepted the VM but the request claims another identity
};

IdentityVerdict check_request_identity(sdk::Sink& sink, const VmDirectory& dir,
                                       const std::string& root,
                                       const spool::ClaimedIdentity& claimed);

}  // namespace vgpu::transports::file
