// The plugin's one exported symbol: name, version, the settings it takes and its factory.
#include "vgpu/sdk/plugin.hpp"
#include "round_robin_policy.hpp"

namespace {

using vgpu::sdk::SettingType;

constexpr vgpu::sdk::SettingSpec kSettings[] = {
    {"aging_ms", SettingType::integer, 0, 3'600'000, "0",
     "a job waiting this long is served ahead of the level above (0 = off)", nullptr},
};

std::unique_ptr<vgpu::sdk::Policy> make_round_robin_policy(const vgpu::sdk::Settings& settings,
                                                           const vgpu::sdk::PluginContext& ctx) {
  return std::make_unique<vgpu::policies::RoundRobinPolicy>(
      std::chrono::milliseconds(settings.integer("aging_ms")), ctx.clock());
}

}  // namespace

VGPU_EXPORT_POLICY("round_robin", "1.1.0",
                   "pools take turns, high before low; the VMs of a level take turns, a job each",
                   vgpu::sdk::schema_of(kSettings), make_round_robin_policy)
