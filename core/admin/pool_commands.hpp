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
// DB overview plus the running mediator's live figures from its admin socket, when reachable.
int status(Admin& a);
// The running mediator's configuration (after reloads), as YAML, from its admin socket.
int running_config(Admin& a);

}  // namespace vgpu::admin
