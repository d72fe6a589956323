// What differs between the running configuration and one read again (SIGHUP): whether the
// policy or its settings changed, which the mediator applies at once, and which other settings
// changed, which take effect only after a restart.
#pragma once

#include <string>
#include <vector>

#include "config.hpp"

namespace vgpu::core {

bool policy_changed(const MediatorConfig& running, const MediatorConfig& next);
// The names of the changed settings that need a restart, e.g. "transports", "limits".
std::vector<std::string> changes_needing_restart(const MediatorConfig& running,
                                                 const MediatorConfig& next);

}  // namespace vgpu::core
