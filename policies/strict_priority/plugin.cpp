// The plugin's one exported symbol: name, version, the settings it takes and its factory.
#include "vgpu/sdk/plugin.hpp"
#include "strict_priority_policy.hpp"

namespace {

using vgpu::sdk::SettingType;

constexpr vgpu::sdk::SettingSpec kSettings[] = {
    {"aging_ms", SettingType::integer, 0, 3'600'000, "0",
     "a job waiting this long competes one level higher, up to high (0 = off)", nullptr},
};

std::unique_ptr<vgpu::sdk::Policy> make_strict_priority_policy(
    const vgpu::sdk::Settings& settings, const vgpu::sdk::PluginContext& ctx) {
  return std::make_unique<vgpu::policies::StrictPriorityPolicy>(
      std::chrono::milliseconds(settings.integer("aging_ms")), ctx.clock());
}

}  // namespace

VGPU_EXPORT_POLICY("strict_priority", "1.1.0",
                   "pools take turns; inside a pool high before medium before low, FIFO in a level",
                   vgpu::sdk::schema_of(kSettings), make_strict_priority_policy)
