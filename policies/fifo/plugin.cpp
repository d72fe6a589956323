// The plugin's one exported symbol: name, version, the settings it takes (none) and its factory.
#include "vgpu/sdk/plugin.hpp"
#include "fifo_policy.hpp"

namespace {

std::unique_ptr<vgpu::sdk::Policy> make_fifo_policy(const vgpu::sdk::Settings&,
                                                    const vgpu::sdk::PluginContext&) {
  return std::make_unique<vgpu::policies::FifoPolicy>();
}

}  // namespace

// No settings: any key under it is refused as unknown.
VGPU_EXPORT_POLICY("fifo", "1.1.0", "one queue in arrival order, ignoring pools and priorities",
                   vgpu::sdk::SettingsSchema{}, make_fifo_policy)
