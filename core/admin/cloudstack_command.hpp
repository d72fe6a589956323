// vgpu-admin cloudstack sync|serve (docs/cloudstack.md).
#pragma once

#include <string>

#include "admin.hpp"

namespace vgpu::admin {

// One full sync; prints what changed. Exit 0, or 5 when CloudStack cannot be read.
int cloudstack_sync(Admin& a, const std::string& config);
// Syncs now, then every sync_interval_s and at once after a webhook's VM event, until SIGTERM
// or SIGINT. A failed sync is logged and tried again at the next turn.
int cloudstack_serve(Admin& a, const std::string& config);

}  // namespace vgpu::admin
