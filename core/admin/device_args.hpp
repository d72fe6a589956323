// The QEMU `-device vgpu-stub,...` argument that shows a VM its pool, priority, vm_id and token.
#pragma once

#include <optional>
#include <string>

#include "config_db.hpp"

namespace vgpu::admin {

// `token` is the plain secret (only known right after issue/rotate); without it the argument
// has no token property and the guest cannot authenticate to a mediator that requires one.
std::string device_args(const core::VmRecord& vm, const std::optional<std::string>& token);

// The same, with the token kept apart: a hypervisor adapter that can hand QEMU the token
// another way (a secret object's file, XCP-ng) keeps it off every command line and log.
struct DeviceSpec {
  std::string args;                  // vgpu-stub,pool_id=..,priority=..,vm_id=.. (no token)
  std::optional<std::string> token;  // only right after issue/rotate
  std::string with_token() const { return token ? args + ",token=" + *token : args; }
};
DeviceSpec device_spec(const core::VmRecord& vm, const std::optional<std::string>& token);

}  // namespace vgpu::admin
