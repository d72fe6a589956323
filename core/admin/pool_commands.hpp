// Pool commands and the system overview (`status`).
#pragma once

#include <string>

#include "admin.hpp"

namespace vgpu::admin {

int list_pools(Admin& a);
int show_pool(Admin& a, const std::string& pool);
int create_pool(Admin& a, const std::string& pool, double weight, const std::string& description);
int remove_pool(Admin& a, const std::string& pool);
int set_pool_weight(Admin& a, const std::string& pool, double weight);
// `device`: 0..63, or "none" to let the mediator place the pool's VMs by load.
int set_pool_device(Admin& a, const std::string& pool, const std::string& device);
// DB overview plus the running mediator's live figures from its admin socket, when reachable.
int status(Admin& a);
// The running mediator's configuration (after reloads), as YAML, from its admin socket.
int running_config(Admin& a);

}  // namespace vgpu::admin
