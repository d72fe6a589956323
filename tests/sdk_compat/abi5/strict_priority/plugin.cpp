// The plugin's one exported symbol: name, version and a factory that checks the settings.
#include "vgpu/sdk/plugin.hpp"
#include "strict_priority_policy.hpp"

namespace {

std::unique_ptr<vgpu::sdk::Policy> make_strict_priority_policy(
    const YAML::Node& settings, const vgpu::sdk::PluginContext& ctx) {
  vgpu::sdk::SettingsReader reader(settings);
  // aging_ms: a job waiting this long competes one level higher (0 = off, the default).
  const auto aging = reader.get_in_range<unsigned>("aging_ms", 0, 0, 3600000);
  reader.reject_unknown_keys();
  return std::make_unique<vgpu::policies::StrictPriorityPolicy>(std::chrono::milliseconds(aging),
                                                                ctx.now);
}

}  // namespace

VGPU_EXPORT_POLICY("strict_priority", "1.0.0", make_strict_priority_policy)
