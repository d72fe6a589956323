// The plugin's one exported symbol: name, version and a factory that checks the settings.
#include "vgpu/sdk/plugin.hpp"
#include "fifo_policy.hpp"

namespace {

std::unique_ptr<vgpu::sdk::Policy> make_fifo_policy(const YAML::Node& settings,
                                                    const vgpu::sdk::PluginContext&) {
  vgpu::sdk::SettingsReader reader(settings);
  reader.reject_unknown_keys();  // fifo has no settings
  return std::make_unique<vgpu::policies::FifoPolicy>();
}

}  // namespace

VGPU_EXPORT_POLICY("fifo", "1.0.0", make_fifo_policy)
