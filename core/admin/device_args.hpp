// The QEMU `-device vgpu-stub,...` argument that shows a VM its pool, priority, vm_id and token.
#pragma once

#include <optional>
#include <string>

#include "config_db.hpp"

namespace vgpu::admin {

// `token` is the plain secret (only known right after issue/rotate); without it the argument
// has no token property and the guest cannot authenticate to a mediator that requires one.
std::string device_args(const core::VmRecord& vm, const std::optional<std::string>& token);

}  // namespace vgpu::admin
