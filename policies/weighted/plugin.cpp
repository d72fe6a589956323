// The plugin's one exported symbol: name, version and a factory that checks the settings.
#include "vgpu/sdk/plugin.hpp"
#include "weighted_policy.hpp"

namespace {

std::unique_ptr<vgpu::sdk::Policy> make_weighted_policy(const YAML::Node& settings,
                                                        const vgpu::sdk::PluginContext&) {
  vgpu::sdk::SettingsReader reader(settings);
  // initial_cost_us: assumed cost of a VM's jobs until one has been measured.
  const auto initial = reader.get_in_range<unsigned>("initial_cost_us", 1000, 1, 60000000);
  reader.reject_unknown_keys();
  return std::make_unique<vgpu::policies::WeightedPolicy>(std::chrono::microseconds(initial));
}

}  // namespace

VGPU_EXPORT_POLICY("weighted", "1.0.0", make_weighted_policy)
