// The plugin's one exported symbol: name, version, the settings it takes and its factory.
#include "vgpu/sdk/plugin.hpp"
#include "weighted_policy.hpp"

namespace {

using vgpu::sdk::SettingType;

constexpr vgpu::sdk::SettingSpec kSettings[] = {
    {"initial_cost_us", SettingType::integer, 1, 60'000'000, "1000",
     "the cost assumed for a VM's jobs until one of them has been measured", nullptr},
};

std::unique_ptr<vgpu::sdk::Policy> make_weighted_policy(const vgpu::sdk::Settings& settings,
                                                        const vgpu::sdk::PluginContext&) {
  return std::make_unique<vgpu::policies::WeightedPolicy>(
      std::chrono::microseconds(settings.integer("initial_cost_us")));
}

}  // namespace

VGPU_EXPORT_POLICY("weighted", "1.1.0",
                   "weighted fair share of device time between pools, then between their VMs",
                   vgpu::sdk::schema_of(kSettings), make_weighted_policy)
