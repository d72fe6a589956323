#include "device_args.hpp"

#include "vgpu/sdk/job.hpp"

namespace vgpu::admin {

DeviceSpec device_spec(const core::VmRecord& vm, const std::optional<std::string>& token) {
  // Property names as the vgpu-stub device defines them (qemu-stub/vgpu_stub.c).
  return {"vgpu-stub,pool_id=" + vm.pool + ",priority=" + sdk::priority_name(vm.priority) +
              ",vm_id=" + std::to_string(vm.vm_id),
          token};
}

std::string device_args(const core::VmRecord& vm, const std::optional<std::string>& token) {
  return device_spec(vm, token).with_token();
}

}  // namespace vgpu::admin
