// The per-VM commands of vgpu-admin.
#pragma once

#include <optional>
#include <string>

#include "admin.hpp"

namespace vgpu::admin {

// Settings a command may change; unset ones stay as they are.
struct VmChanges {
  std::optional<std::string> name, pool, priority;
  std::optional<std::string> device;  // "0".."63" or "none"
  std::optional<std::uint32_t> vm_id, vsock_cid;
  std::optional<double> weight;
  std::optional<std::int64_t> max_queued, memory_quota_mb;
  bool any() const {
    return name || pool || priority || vm_id || vsock_cid || weight || max_queued ||
           memory_quota_mb || device;
  }
};

int register_vm(Admin& a, const std::string& uuid, const VmChanges& settings, bool issue_token);
int list_vms(Admin& a, const std::optional<std::string>& pool,
             const std::optional<std::string>& priority);
int show_vm(Admin& a, const std::string& vm);
int update_vm(Admin& a, const std::string& vm, const VmChanges& changes);
int remove_vm(Admin& a, const std::string& vm);
int issue_token(Admin& a, const std::string& vm, bool rotate);
int device_args_command(Admin& a, const std::string& vm, bool rotate_token);
// `hypervisor_uuid`: the UUID the hypervisor knows the VM by, when it is not the DB's.
int apply(Admin& a, const std::string& vm, bool rotate_token,
          const std::optional<std::string>& hypervisor_uuid = std::nullopt);
int scan_vms(Admin& a);

}  // namespace vgpu::admin
