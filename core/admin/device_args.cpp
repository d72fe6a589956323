#include "device_args.hpp"

#include "vgpu/sdk/job.hpp"

namespace vgpu::admin {

std::string device_args(const core::VmRecord& vm, const std::optional<std::string>& token) {
  // Property names as the vgpu-stub device defines them (guest/include/vgpu/stub_registers.h, docs/architecture.md).
  std::string args = "vgpu-stub,pool_id=" + vm.pool +
                     ",priority=" + sdk::priority_name(vm.priority) +
                     ",vm_id=" + std::to_string(vm.vm_id);
  if (token) args += ",token=" + *token;
  return args;
}

}  // namespace vgpu::admin
